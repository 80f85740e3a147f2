//! Timeouts with `select` and `time::after` (Go by Example, "Timeouts"), with the durations
//! scaled from seconds to tenths of a second. Prints `timeout 1` then `result 2`.

use gmp_chan::{chan, select, time};
use gmp_core::{go, sleep};
use std::time::Duration;

const UNIT: Duration = Duration::from_millis(100);

/// Runs the program: prints `timeout 1` then `result 2`.
pub fn main() {
    gmp_core::run(|| {
        // A call that returns its result on c1 after 2 units.
        let c1 = chan::<&str>(1);
        let tx = c1.sender();
        go(move || {
            sleep(2 * UNIT);
            tx.send("result 1").unwrap();
        });
        select! {
            recv(c1) -> res => println!("{}", res.unwrap()),
            recv(time::after(UNIT)) -> _ => println!("timeout 1"),
        }

        // With a longer timeout (3 units) the result arrives first.
        let c2 = chan::<&str>(1);
        let tx = c2.sender();
        go(move || {
            sleep(2 * UNIT);
            tx.send("result 2").unwrap();
        });
        select! {
            recv(c2) -> res => println!("{}", res.unwrap()),
            recv(time::after(3 * UNIT)) -> _ => println!("timeout 2"),
        }
    });
}
