//! `WaitReason`: why a goroutine is parked, with Go's strings (runtime/runtime2.go).

use std::fmt;

/// Why a goroutine is parked: shown by [`dump`](crate::dump) and in the deadlock report.
///
/// `Display` gives the string Go prints in a goroutine header, e.g. `goroutine 7 [chan receive]:`
/// (Go: `waitReasonStrings` in runtime/runtime2.go). Crates built on [`park`](crate::park) pass
/// the reason that names their operation; [`Other`](WaitReason::Other) carries a custom one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum WaitReason {
    /// `<-ch` on a channel: "chan receive".
    ChanReceive,
    /// `ch <- v`: "chan send".
    ChanSend,
    /// Receive from a nil channel: "chan receive (nil chan)".
    ChanReceiveNilChan,
    /// Send on a nil channel: "chan send (nil chan)".
    ChanSendNilChan,
    /// `select { ... }`: "select".
    Select,
    /// `select {}`: "select (no cases)".
    SelectNoCases,
    /// `sync.Mutex.Lock` (and `RWMutex.Lock` waiting for another writer): "sync.Mutex.Lock".
    SyncMutexLock,
    /// `sync.RWMutex.RLock`: "sync.RWMutex.RLock".
    SyncRWMutexRLock,
    /// `sync.RWMutex.Lock` waiting for readers to leave: "sync.RWMutex.Lock".
    SyncRWMutexLock,
    /// `sync.WaitGroup.Wait`: "sync.WaitGroup.Wait" (Go 1.25's string).
    SyncWaitGroupWait,
    /// `sync.Cond.Wait`: "sync.Cond.Wait".
    SyncCondWait,
    /// A runtime semaphore (`semacquire`), e.g. a weighted semaphore: "semacquire".
    SemAcquire,
    /// `time.Sleep`: "sleep".
    Sleep,
    /// Waiting for a socket to become ready: "IO wait".
    IoWait,
    /// Waiting in [`JoinHandle::join`](crate::JoinHandle::join) (Go has no join; "join").
    Join,
    /// `sync.Once` waiting for the first caller's `f`: "sync.Once.Do".
    SyncOnce,
    /// Waiting in [`block_on`](crate::block_on) for a future's waker (Go has none):
    /// "block_on".
    BlockOn,
    /// Parked through [`park::park`](crate::park::park) with no better reason: "park".
    Park,
    /// A reason of your own, printed as given.
    Other(&'static str),
}

impl WaitReason {
    /// The string Go prints for this reason.
    pub fn as_str(&self) -> &'static str {
        match self {
            WaitReason::ChanReceive => "chan receive",
            WaitReason::ChanSend => "chan send",
            WaitReason::ChanReceiveNilChan => "chan receive (nil chan)",
            WaitReason::ChanSendNilChan => "chan send (nil chan)",
            WaitReason::Select => "select",
            WaitReason::SelectNoCases => "select (no cases)",
            WaitReason::SyncMutexLock => "sync.Mutex.Lock",
            WaitReason::SyncRWMutexRLock => "sync.RWMutex.RLock",
            WaitReason::SyncRWMutexLock => "sync.RWMutex.Lock",
            WaitReason::SyncWaitGroupWait => "sync.WaitGroup.Wait",
            WaitReason::SyncCondWait => "sync.Cond.Wait",
            WaitReason::SemAcquire => "semacquire",
            WaitReason::Sleep => "sleep",
            WaitReason::IoWait => "IO wait",
            WaitReason::Join => "join",
            WaitReason::SyncOnce => "sync.Once.Do",
            WaitReason::BlockOn => "block_on",
            WaitReason::Park => "park",
            WaitReason::Other(s) => s,
        }
    }
}

impl fmt::Display for WaitReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::WaitReason;

    #[test]
    fn go_strings() {
        assert_eq!(WaitReason::ChanReceive.to_string(), "chan receive");
        assert_eq!(WaitReason::SelectNoCases.to_string(), "select (no cases)");
        assert_eq!(
            WaitReason::SyncRWMutexRLock.to_string(),
            "sync.RWMutex.RLock"
        );
        assert_eq!(WaitReason::IoWait.to_string(), "IO wait");
        assert_eq!(WaitReason::Other("custom").to_string(), "custom");
    }
}
