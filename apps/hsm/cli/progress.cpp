#include "apps/hsm/cli/progress.h"

#include <unistd.h>

#include <cstdio>

#include <fmt/format.h>

#include "apps/cli/command.h"
#include "runtime/base/size.h"

namespace pdm::cli {

JobProgress::JobProgress(bool enabled, std::string verb, std::uint64_t total_files,
                         std::uint64_t total_bytes, double interval)
    : enabled_(enabled),
      terminal_(::isatty(STDERR_FILENO) == 1),
      verb_(std::move(verb)),
      total_files_(total_files),
      total_bytes_(total_bytes),
      interval_(interval),
      start_(now_seconds()),
      last_print_(start_) {}

std::string JobProgress::line(std::uint64_t files, std::uint64_t total_files, std::uint64_t bytes,
                              std::uint64_t total_bytes, double seconds) {
  const double rate = seconds > 0 ? static_cast<double>(bytes) / seconds : 0;
  const unsigned percent =
      total_bytes > 0 ? static_cast<unsigned>(100 * bytes / total_bytes)
                      : (total_files > 0 ? static_cast<unsigned>(100 * files / total_files) : 100);
  std::string eta = "-";
  if (rate > 0 && total_bytes > bytes) {
    const auto left = static_cast<std::uint64_t>(static_cast<double>(total_bytes - bytes) / rate);
    eta = fmt::format("{}:{:02}", left / 60, left % 60);
  } else if (bytes >= total_bytes && files >= total_files) {
    eta = "0:00";
  }
  return fmt::format("{}/{} {}% {}/{} files {}/s ETA {}", format_size(bytes),
                     format_size(total_bytes), percent, files, total_files,
                     format_size(static_cast<std::uint64_t>(rate)), eta);
}

void JobProgress::update(std::uint64_t files, std::uint64_t bytes) {
  files_ = files;
  bytes_ = bytes;
  if (!enabled_) return;
  const double now = now_seconds();
  if (terminal_ ? now - last_print_ >= 0.25 : (interval_ > 0 && now - last_print_ >= interval_)) {
    last_print_ = now;
    print(false);
  }
}

void JobProgress::print(bool final) {
  const std::string text = fmt::format(
      "{}: {}", verb_, line(files_, total_files_, bytes_, total_bytes_, now_seconds() - start_));
  if (terminal_) {
    std::fprintf(stderr, "\r%s\033[K", final ? "" : text.c_str());
  } else {
    std::fprintf(stderr, "%s\n", text.c_str());
  }
  std::fflush(stderr);
  printed_ = true;
}

void JobProgress::finish() {
  if (!enabled_) return;
  if (terminal_) {
    if (printed_) print(true);
  } else if (printed_) {
    print(false);
  }
}

}  // namespace pdm::cli
