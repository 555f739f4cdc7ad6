// A minimal Archive for the agent's tests: one file per copy in a local
// directory that every rank of the test sees, with its ArchivedFile in a
// side file. It does NOT verify checksums on fetch, on purpose: the tests
// corrupt a copy and check that the agent's own check (against the file's
// record) turns it into EIO. The real backends are apps/hsm/archive.
#pragma once

#include <memory>
#include <string>

#include "apps/hsm/archive/archive.h"

namespace pdm::hsm::test {

std::unique_ptr<Archive> make_test_archive(std::string id, std::string directory);
// The local file holding the data of the copy at `location`.
std::string test_archive_data_path(const std::string &directory, const ArchiveLocation &location);

}  // namespace pdm::hsm::test
