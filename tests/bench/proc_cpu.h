/*
 * proc_cpu: CPU time for the benchmarks, in ns: this thread's
 * (CLOCK_THREAD_CPUTIME_ID), and every thread of another process
 * (/proc/PID/task/TID/schedstat, whose first field is the time on CPU).
 */
#ifndef HAWIYA_BENCH_PROC_CPU_H
#define HAWIYA_BENCH_PROC_CPU_H

#include <stdint.h>
#include <sys/types.h>

uint64_t thread_cpu_ns(void);
/* 0 when the process is gone. */
uint64_t process_cpu_ns(pid_t pid);

#endif
