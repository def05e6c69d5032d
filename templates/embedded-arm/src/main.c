/* A minimal bare-metal program: newlib's startup code calls main(); the
 * nosys stubs stand in for an operating system. Replace with your board's
 * startup code, linker script and HAL. */
#include <stdint.h>
#include <string.h>

static volatile uint32_t ticks;
static char banner[32];

int main(void) {
    strcpy(banner, "Hello from Cortex-M!");
    for (;;) {
        ticks++;
    }
}
