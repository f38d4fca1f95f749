/* tiny-exit: the smallest program that can be exec'd: static, no libc, no dynamic loader; it
 * exits 0 at once. bench:agent execs it at 1,000/s, a rate this VM cannot reach with /bin/true
 * (whose exec is dominated by loading libc), to measure the sensor at that rate. x86-64 Linux. */
void _start(void)
{
	__asm__ volatile("mov $60, %eax\n\txor %edi, %edi\n\tsyscall");
}
