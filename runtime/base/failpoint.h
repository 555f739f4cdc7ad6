// Failpoints: named places in the runtime where a test can make the
// process fail at an exact step of a protocol (a rank killed between two
// messages of a view change), which a kill from outside the process cannot
// aim at. The idea of FoundationDB's and TiKV's failpoints, reduced to what
// pdm's tests need: a test arms a name with an action (mostly a real SIGKILL
// of its own process; a test may also hold the thread that hits it, e.g. a
// write inside its data transfer); the runtime calls hit(name) at the place,
// and may fail there itself when hit() says it fired (a delivery refused).
//
// Unarmed, hit() is one relaxed atomic load: nothing is armed in production,
// and nothing but a test arms one (there is no setting or variable for it).
#pragma once

#include <functional>
#include <string_view>

namespace pdm::failpoint {

// Runs `action` (on the thread that hits it) the first time `name` is hit;
// then the failpoint is disarmed. One failpoint is armed at a time.
void arm(std::string_view name, std::function<void()> action);
// Runs `action` every time `name` is hit until disarmed (a test counting
// how often a place is reached).
void arm_every(std::string_view name, std::function<void()> action);
void disarm();
// The runtime's side: runs the armed action if `name` is the armed
// failpoint; true if it did (a place may then also fail, e.g. refuse a
// request, where a kill is not the failure a test needs).
bool hit(std::string_view name);

}  // namespace pdm::failpoint
