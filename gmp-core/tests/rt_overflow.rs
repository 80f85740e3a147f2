//! A goroutine of a real runtime that overflows its stack: the process prints
//! `goroutine N overflowed its stack (S bytes)` and aborts (never silent corruption). Each case
//! runs in a child process (this test binary re-run with `GMP_OVERFLOW_CHILD` set).

use std::os::unix::process::ExitStatusExt;
use std::process::Command;

const CHILD: &str = "GMP_OVERFLOW_CHILD";

#[inline(never)]
fn recurse(depth: u64) -> u64 {
    let frame = [depth as u8; 512];
    if depth == u64::MAX {
        return 0;
    }
    recurse(depth + 1) + u64::from(std::hint::black_box(frame)[0])
}

/// The child: main is goroutine 1, the overflowing goroutine is goroutine 2.
fn child(stack: usize) {
    let rt = gmp_core::Runtime::builder()
        .procs(2)
        .stack_size(stack)
        .build()
        .unwrap();
    rt.run(|| {
        let h = gmp_core::go(|| recurse(0));
        let _ = h.join();
    });
    eprintln!("NO OVERFLOW");
}

#[test]
fn overflow_in_a_goroutine_reports_it_and_aborts() {
    if let Ok(stack) = std::env::var(CHILD) {
        child(stack.parse().unwrap());
        return;
    }
    for stack in [64 * 1024usize, 256 * 1024] {
        let out = Command::new(std::env::current_exe().unwrap())
            .args([
                "overflow_in_a_goroutine_reports_it_and_aborts",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD, stack.to_string())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.signal(),
            Some(libc_sigabrt()),
            "stack {stack}: the child did not abort: {:?}\n{stderr}",
            out.status
        );
        let want = format!("goroutine 2 overflowed its stack ({stack} bytes)");
        assert!(stderr.contains(&want), "want {want:?} in:\n{stderr}");
        assert!(!stderr.contains("NO OVERFLOW"), "{stderr}");
    }
}

fn libc_sigabrt() -> i32 {
    6 // SIGABRT on Linux
}
