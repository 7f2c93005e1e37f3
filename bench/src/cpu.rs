//! CPU time spent by a process or by named threads of this process, from `/proc` (Linux only;
//! elsewhere every reading is `None` and the reports leave the column empty).
//!
//! Reading it before and after a run says who used the machine's cores: on a 2-core machine the
//! server, the GitHub emulator and the load generator compete, and a figure means little without
//! knowing which of them was the limit.

use std::time::Duration;

/// Kernel clock ticks per second of `/proc/*/stat` times (`USER_HZ`), 100 on every Linux ABI.
const TICKS_PER_SEC: u64 = 100;

/// User plus system CPU time of process `pid`.
pub fn process(pid: u32) -> Option<Duration> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(&text).map(|(_, time)| time)
}

/// User plus system CPU time of the threads of this process whose name starts with `prefix`
/// (Tokio names its threads after the runtime's `thread_name`).
pub fn threads(prefix: &str) -> Option<Duration> {
    let tasks = std::fs::read_dir("/proc/self/task").ok()?;
    let mut total = Duration::ZERO;
    for task in tasks.flatten() {
        let Ok(text) = std::fs::read_to_string(task.path().join("stat")) else {
            // The thread ended between listing and reading.
            continue;
        };
        if let Some((name, time)) = parse_stat(&text)
            && name.starts_with(prefix)
        {
            total += time;
        }
    }
    Some(total)
}

/// CPU time the whole machine has been busy (every process, and the kernel's interrupt work such
/// as loopback networking that no process is charged for; not idle, I/O wait or steal), from the
/// first line of `/proc/stat`. Compared with what the benchmark's own
/// parties used, it shows how much other work was running.
pub fn machine() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/stat").ok()?;
    let line = text.lines().next()?.strip_prefix("cpu ")?;
    let ticks: Vec<u64> = line
        .split_whitespace()
        .map(str::parse)
        .collect::<Result<_, _>>()
        .ok()?;
    // user nice system idle iowait irq softirq [steal guest guest_nice]: steal is time the
    // hypervisor gave to other machines, and guest time is already in user and nice.
    let busy: u64 = ticks.iter().take(7).sum::<u64>() - ticks.get(3)? - ticks.get(4)?;
    Some(Duration::from_millis(busy * 1000 / TICKS_PER_SEC))
}

/// `(comm, utime + stime)` from a `stat` line: `pid (comm) state ppid ... utime stime ...`. The
/// name may contain spaces and parentheses, so it ends at the last `)`.
fn parse_stat(text: &str) -> Option<(String, Duration)> {
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let name = text.get(open + 1..close)?.to_owned();
    let fields: Vec<&str> = text.get(close + 1..)?.split_whitespace().collect();
    // After the name: state is field 3 of the line, utime 14 and stime 15.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    let ticks = utime + stime;
    Some((name, Duration::from_millis(ticks * 1000 / TICKS_PER_SEC)))
}

/// CPU used between two readings, as a share of one core over `wall`.
pub fn cores(before: Option<Duration>, after: Option<Duration>, wall: Duration) -> Option<f64> {
    let used = after?.checked_sub(before?)?;
    let wall = wall.as_secs_f64();
    (wall > 0.0).then(|| used.as_secs_f64() / wall)
}
