//! A benchmarked child process: its exit code, CPU time and peak RSS.

use std::time::Duration;

/// The exit code and CPU time (user + system) of child `pid` if it has ended, reaped with
/// wait4 so its own rusage comes with it.
pub fn reap(pid: u32) -> Option<(i32, Duration)> {
    let mut status = 0;
    // SAFETY: wait4 writes only into the two out-parameters, both valid for its duration.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let reaped = unsafe { libc::wait4(pid as i32, &mut status, libc::WNOHANG, &mut usage) };
    if reaped != pid as i32 {
        return None;
    }
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    Some((code, cpu_time(&usage)))
}

/// CPU time (user + system) of the calling thread: for a benchmark that runs the code it
/// measures in-process, on one thread, beside servers on threads of their own.
pub fn thread_cpu() -> Duration {
    // SAFETY: getrusage writes only into the struct it is given; RUSAGE_THREAD is this thread.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    assert_eq!(
        unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut usage) },
        0
    );
    cpu_time(&usage)
}

/// User + system time of an rusage.
fn cpu_time(usage: &libc::rusage) -> Duration {
    let time = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    time(usage.ru_utime) + time(usage.ru_stime)
}

pub fn vm_hwm_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Wait for child `pid` (spawned, not yet reaped): its exit code, CPU time and peak RSS in KiB.
/// Peak RSS from /proc/PID/status VmHWM, read until the process ends (getrusage's ru_maxrss
/// would not do: Linux carries the spawning process's high-water mark across exec). VmHWM only
/// grows, so the last reading holds the peak unless it came in the final few milliseconds.
pub fn until_done(pid: u32) -> (i32, Duration, u64) {
    let mut peak_kb = 0u64;
    loop {
        if let Some(kb) = vm_hwm_kb(pid) {
            peak_kb = peak_kb.max(kb);
        }
        if let Some((code, cpu)) = reap(pid) {
            return (code, cpu, peak_kb);
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}
