// Linked into the device check's mer-bench-deep: on a crash, prints the
// faulting address, the mapping it lies in, the libraries and symbols of the
// return addresses on top of the stack (a call through a null pointer leaves
// no other trace) and a backtrace.
#include <dlfcn.h>
#include <execinfo.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>
#include <unistd.h>
namespace {
void on_crash(int sig, siginfo_t* info, void* context) {
    const auto* uc = static_cast<ucontext_t*>(context);
    const unsigned long pc = uc->uc_mcontext.gregs[REG_RIP];
    char line[512];
    snprintf(line, sizeof line, "CRASH signal %d at address %p, pc %#lx\n", sig, info->si_addr, pc);
    write(2, line, strlen(line));
    FILE* maps = fopen("/proc/self/maps", "r");
    bool found = false;
    while (maps && fgets(line, sizeof line, maps)) {
        unsigned long lo, hi;
        if (sscanf(line, "%lx-%lx", &lo, &hi) == 2 && pc >= lo && pc < hi) {
            write(2, line, strlen(line));
            found = true;
        }
    }
    if (!found) write(2, "pc is not in any mapping (code unloaded?)\n", 42);
    // A call through a null pointer: the caller's return address is on top of the stack.
    const unsigned long* sp = reinterpret_cast<const unsigned long*>(uc->uc_mcontext.gregs[REG_RSP]);
    for (int i = 0; i < 4; ++i) {
        Dl_info where{};
        if (dladdr(reinterpret_cast<void*>(sp[i]), &where) && where.dli_fname) {
            snprintf(line, sizeof line, "stack[%d] %#lx in %s (%s+%#lx, base %p)\n", i, sp[i], where.dli_fname,
                     where.dli_sname ? where.dli_sname : "?",
                     where.dli_saddr ? sp[i] - reinterpret_cast<unsigned long>(where.dli_saddr) : 0, where.dli_fbase);
            write(2, line, strlen(line));
        }
    }
    void* frames[64];
    const int n = backtrace(frames, 64);
    backtrace_symbols_fd(frames, n, 2);
    _exit(128 + sig);
}
struct Install {
    Install() {
        struct sigaction sa {};
        sa.sa_sigaction = on_crash;
        sa.sa_flags = SA_SIGINFO;
        sigaction(SIGSEGV, &sa, nullptr);
        sigaction(SIGBUS, &sa, nullptr);
    }
} install;
}  // namespace
