#include <iostream>

// The CPU this program was compiled for.
static const char *target() {
#if defined(__aarch64__)
    return "aarch64";
#elif defined(__arm__)
    return "armhf";
#elif defined(__riscv)
    return "riscv64";
#elif defined(__x86_64__)
    return "x86_64";
#else
    return "an unknown CPU";
#endif
}

int main() {
    std::cout << "Hello from " << target() << "!" << std::endl;
    return 0;
}
