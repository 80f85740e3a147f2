//! proptest: random trees of goroutines on 1 to 4 Ps. Each node spawns its children (some
//! joined, some detached and counted through a shared tally), yields, sleeps or parks on an
//! unparker handed to a sibling, and returns the sum of its subtree. Whatever the shape and the
//! number of Ps, every goroutine runs exactly once, every join returns its child's sum, and the
//! runtime ends with no goroutine left but main.

use gmp_core::park::{self, Unparker, WaitReason};
use gmp_core::{go, gosched, sleep, Runtime};
use proptest::prelude::*;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

/// What a node does before it spawns its children.
#[derive(Clone, Debug)]
enum Step {
    Nothing,
    Yield,
    Sleep(u8),
    /// Parks until a goroutine it spawns for the purpose unparks it.
    ParkForHelper,
}

#[derive(Clone, Debug)]
struct Node {
    value: u64,
    step: Step,
    /// Children, and whether each is joined (`true`) or detached.
    children: Vec<(Node, bool)>,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => Just(Step::Nothing),
        2 => Just(Step::Yield),
        1 => (0u8..3).prop_map(Step::Sleep),
        1 => Just(Step::ParkForHelper),
    ]
}

fn tree() -> impl Strategy<Value = Node> {
    let leaf = (0u64..100, step()).prop_map(|(value, step)| Node {
        value,
        step,
        children: vec![],
    });
    leaf.prop_recursive(4, 64, 6, |inner| {
        (
            0u64..100,
            step(),
            prop::collection::vec((inner, any::<bool>()), 0..6),
        )
            .prop_map(|(value, step, children)| Node {
                value,
                step,
                children,
            })
    })
}

fn count(n: &Node) -> (u64, u64) {
    // (goroutines, sum of values) of the subtree, helpers included.
    let helper = u64::from(matches!(n.step, Step::ParkForHelper));
    n.children
        .iter()
        .fold((1 + helper, n.value), |(g, s), (c, _)| {
            let (cg, cs) = count(c);
            (g + cg, s + cs)
        })
}

struct Tally {
    ran: AtomicU64,
    /// Sum of the values of detached subtrees, added by their roots.
    detached: AtomicU64,
}

/// Runs `n` in the calling goroutine: returns the sum of the values of its joined subtree.
fn run_node(n: Node, tally: Arc<Tally>) -> u64 {
    tally.ran.fetch_add(1, SeqCst);
    match n.step {
        Step::Nothing => {}
        Step::Yield => gosched(),
        Step::Sleep(ms) => sleep(Duration::from_millis(u64::from(ms))),
        Step::ParkForHelper => {
            let me: Unparker = park::current();
            let done = Arc::new(AtomicBool::new(false));
            let d = done.clone();
            let t = tally.clone();
            go(move || {
                t.ran.fetch_add(1, SeqCst);
                d.store(true, SeqCst);
                me.unpark();
            });
            while !done.load(SeqCst) {
                park::park(WaitReason::Park);
            }
        }
    }
    let mut joined = Vec::new();
    for (child, join) in n.children {
        let t = tally.clone();
        if join {
            joined.push(go(move || run_node(child, t)));
        } else {
            go(move || {
                let s = run_node(child, t.clone());
                t.detached.fetch_add(s, SeqCst);
            });
        }
    }
    n.value + joined.into_iter().map(|h| h.join().unwrap()).sum::<u64>()
}

fn check(root: Node, procs: usize) -> Result<(), TestCaseError> {
    let (goroutines, total) = count(&root);
    let rt = Runtime::builder().procs(procs).build().unwrap();
    let tally = Arc::new(Tally {
        ran: AtomicU64::new(0),
        detached: AtomicU64::new(0),
    });
    let t = tally.clone();
    let (joined_sum, left) = rt.run(move || {
        let s = run_node(root, t.clone());
        // Detached goroutines may still run: wait until every one has reported.
        while t.ran.load(SeqCst) < goroutines || gmp_core::num_goroutine() > 1 {
            gosched();
            sleep(Duration::from_micros(200));
        }
        (s, gmp_core::num_goroutine())
    });
    prop_assert_eq!(
        tally.ran.load(SeqCst),
        goroutines,
        "every goroutine runs once"
    );
    prop_assert_eq!(joined_sum + tally.detached.load(SeqCst), total);
    prop_assert_eq!(left, 1, "only main is left");
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn random_spawn_trees_run_every_goroutine_once(root in tree(), procs in 1usize..=4) {
        check(root, procs)?;
    }
}

#[test]
fn a_deep_chain_and_a_wide_fan_out() {
    // Fixed shapes at the extremes of the generator: a chain 200 deep, a node with 2,000
    // children, mixed joined and detached.
    let mut chain = Node {
        value: 1,
        step: Step::Yield,
        children: vec![],
    };
    for i in 0..200 {
        chain = Node {
            value: i,
            step: if i % 7 == 0 {
                Step::ParkForHelper
            } else {
                Step::Nothing
            },
            children: vec![(chain, i % 3 != 0)],
        };
    }
    let fan = Node {
        value: 5,
        step: Step::Nothing,
        children: (0..2000)
            .map(|i| {
                (
                    Node {
                        value: i,
                        step: if i % 10 == 0 {
                            Step::Yield
                        } else {
                            Step::Nothing
                        },
                        children: vec![],
                    },
                    i % 2 == 0,
                )
            })
            .collect(),
    };
    for procs in 1..=4 {
        check(chain.clone(), procs).unwrap();
        check(fan.clone(), procs).unwrap();
    }
}
