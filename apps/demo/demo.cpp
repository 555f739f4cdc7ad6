// pdm-demo: the job scripts/demo.sh runs. Every rank writes a share of a set
// of generated files into a mounted pdm file system, then reads back files
// that other ranks wrote and verifies their xxHash64 checksums; rank 0
// prints what landed where.
#include <fcntl.h>
#include <mpi.h>
#include <pdm/pdm.h>
#include <xxhash.h>

#include <algorithm>
#include <boost/program_options.hpp>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "runtime/base/size.h"
#include "runtime/node/process_node.h"

namespace po = boost::program_options;

namespace {

struct Options {
  std::string fs;
  int files = 64;
  std::uint64_t max_size = 4u << 20;
};

std::vector<unsigned char> generate(int id, std::size_t size) {
  std::vector<unsigned char> data(size);
  std::mt19937_64 rng(static_cast<std::uint64_t>(id) * 7919 + 1);
  for (std::size_t i = 0; i < size; i += 8) {
    const std::uint64_t word = rng();
    std::memcpy(data.data() + i, &word, std::min<std::size_t>(8, size - i));
  }
  return data;
}

std::size_t size_of(int id, std::uint64_t max_size) {
  std::mt19937_64 rng(static_cast<std::uint64_t>(id) + 424242);
  return static_cast<std::size_t>(rng() % max_size) + 1;
}

std::string path_of(int id) {
  return "/demo/file-" + std::to_string(id);
}

// Writes file `id`; returns its checksum, or fails loudly.
bool write_file(int id, const Options &options, std::uint64_t &checksum) {
  auto data = generate(id, size_of(id, options.max_size));
  const std::string path = path_of(id);
  int fd = pdm_open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY, 0644);
  if (fd < 0 || pdm_pwrite(fd, data.data(), data.size(), 0) != static_cast<ssize_t>(data.size()) ||
      pdm_close(fd) != 0) {
    std::cerr << "pdm-demo: writing " << path << ": " << pdm_last_error() << "\n";
    return false;
  }
  checksum = XXH64(data.data(), data.size(), 0);
  return true;
}

bool verify_file(int id, std::uint64_t expected) {
  const std::string path = path_of(id);
  struct stat st {};
  if (pdm_stat(path.c_str(), &st) != 0) {
    std::cerr << "pdm-demo: " << path << ": " << pdm_last_error() << "\n";
    return false;
  }
  std::vector<unsigned char> data(static_cast<std::size_t>(st.st_size));
  int fd = pdm_open(path.c_str(), O_RDONLY, 0);
  const bool read = fd >= 0 && pdm_pread(fd, data.data(), data.size(), 0) == st.st_size;
  if (fd >= 0) pdm_close(fd);
  if (!read || XXH64(data.data(), data.size(), 0) != expected) {
    std::cerr << "pdm-demo: " << path << ": checksum mismatch or short read\n";
    return false;
  }
  return true;
}

}  // namespace

int main(int argc, char **argv) {
  Options options;
  std::string max_size = "4M";
  po::options_description desc(
      "pdm-demo: writes generated files in parallel into a pdm file system, reads them back\n"
      "on other ranks and verifies their checksums (run under mpirun).\n\n"
      "Usage: mpirun -n N pdm-demo --fs FS [options]\n\nOptions");
  desc.add_options()("help,h", "show this help")("fs", po::value(&options.fs),
                                                 "file system config (default: $PDM_FS)")(
      "files", po::value(&options.files)->default_value(64), "number of files to write")(
      "max-size", po::value(&max_size)->default_value("4M"), "largest file size (e.g. 512K, 4M)");
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, desc), vm);
    po::notify(vm);
  } catch (const po::error &e) {
    std::cerr << "pdm-demo: " << e.what() << "\n";
    return 2;
  }
  if (vm.count("help")) {
    std::cout << desc << "\n";
    return 0;
  }
  if (options.fs.empty() && std::getenv("PDM_FS") != nullptr) options.fs = std::getenv("PDM_FS");
  auto parsed = pdm::parse_size(max_size);
  if (options.fs.empty() || !parsed.ok() || *parsed == 0 || options.files <= 0) {
    std::cerr << "pdm-demo: need --fs (or PDM_FS), --files > 0 and a valid --max-size\n";
    return 2;
  }
  options.max_size = *parsed;

  int provided = 0;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
  int rank = 0;
  int size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  if (auto started = pdm::node::start_process_node(MPI_COMM_WORLD, options.fs); !started.ok()) {
    if (rank == 0) std::cerr << "pdm-demo: " << started.error().message << "\n";
    MPI_Finalize();
    return 1;
  }
  auto &fs = pdm::node::process_node()->fs();
  if (rank == 0 && pdm_mkdir("/demo", 0755) != 0 && errno != EEXIST) {
    std::cerr << "pdm-demo: /demo: " << pdm_last_error() << "\n";
  }
  MPI_Barrier(MPI_COMM_WORLD);

  // Rank r writes files r, r + size, ...; checksums go to every rank.
  const double start = MPI_Wtime();
  std::vector<unsigned long long> sums(static_cast<std::size_t>(options.files), 0);
  int ok = 1;
  std::uint64_t bytes = 0;
  for (int id = rank; id < options.files; id += size) {
    std::uint64_t sum = 0;
    if (!write_file(id, options, sum)) ok = 0;
    sums[static_cast<std::size_t>(id)] = sum;
    bytes += size_of(id, options.max_size);
  }
  MPI_Allreduce(MPI_IN_PLACE, sums.data(), options.files, MPI_UNSIGNED_LONG_LONG, MPI_BOR,
                MPI_COMM_WORLD);
  const double written = MPI_Wtime();
  // Read back what the next rank wrote: the data crosses ranks both ways.
  for (int id = (rank + 1) % size; id < options.files; id += size) {
    if (!verify_file(id, sums[static_cast<std::size_t>(id)])) ok = 0;
  }
  MPI_Allreduce(MPI_IN_PLACE, &ok, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  MPI_Allreduce(MPI_IN_PLACE, &bytes, 1, MPI_UINT64_T, MPI_SUM, MPI_COMM_WORLD);
  const double verified = MPI_Wtime();

  if (rank == 0) {
    std::printf(
        "pdm-demo: %d ranks wrote %d files (%s) in %.2f s, read back and verified in %.2f s: %s\n",
        size, options.files, pdm::format_size(bytes).c_str(), written - start, verified - written,
        ok ? "all checksums match" : "FAILED");
    std::printf("\n%-6s %-6s %-8s %-12s %s\n", "volume", "owner", "objects", "bytes", "directory");
    auto usage = fs.volume_usage();
    if (usage.ok()) {
      for (const auto &v : *usage) {
        std::printf("%-6u r%-5d %-8llu %-12s %s\n", v.volume, fs.owner_of_volume(v.volume),
                    static_cast<unsigned long long>(v.objects),
                    pdm::format_size(v.object_bytes).c_str(),
                    fs.config().volumes[v.volume].c_str());
      }
    }
    std::printf("metadata served by rank %d from %s\n", fs.metadata_rank(),
                fs.config().metadata_dir().c_str());
  }
  auto stopped = pdm::node::stop_process_node();
  MPI_Finalize();
  return ok && stopped.ok() ? 0 : 1;
}
