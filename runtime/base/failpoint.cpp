#include "runtime/base/failpoint.h"

#include <atomic>
#include <mutex>
#include <string>

namespace pdm::failpoint {
namespace {

std::atomic<bool> g_armed{false};
std::mutex g_mutex;
std::string g_name;
std::function<void()> g_action;

}  // namespace

void arm(std::string_view name, std::function<void()> action) {
  std::lock_guard lock(g_mutex);
  g_name = name;
  g_action = std::move(action);
  g_armed.store(true, std::memory_order_release);
}

void disarm() {
  std::lock_guard lock(g_mutex);
  g_armed.store(false, std::memory_order_relaxed);
  g_action = nullptr;
}

bool hit(std::string_view name) {
  if (!g_armed.load(std::memory_order_acquire)) return false;
  std::function<void()> action;
  {
    std::lock_guard lock(g_mutex);
    if (!g_armed.load(std::memory_order_relaxed) || g_name != name) return false;
    g_armed.store(false, std::memory_order_relaxed);
    action = std::move(g_action);
  }
  if (action) action();
  return true;
}

}  // namespace pdm::failpoint
