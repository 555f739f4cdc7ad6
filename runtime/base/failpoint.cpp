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
bool g_every = false;  // stays armed after it fires

void arm_with(std::string_view name, std::function<void()> action, bool every) {
  std::lock_guard lock(g_mutex);
  g_name = name;
  g_action = std::move(action);
  g_every = every;
  g_armed.store(true, std::memory_order_release);
}

}  // namespace

void arm(std::string_view name, std::function<void()> action) {
  arm_with(name, std::move(action), false);
}

void arm_every(std::string_view name, std::function<void()> action) {
  arm_with(name, std::move(action), true);
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
    if (g_every) {
      action = g_action;
    } else {
      g_armed.store(false, std::memory_order_relaxed);
      action = std::move(g_action);
    }
  }
  if (action) action();
  return true;
}

}  // namespace pdm::failpoint
