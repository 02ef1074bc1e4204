//! Trying again: one `Backoff` (doubling waits between a floor and a ceiling, back to the floor
//! after a success) and one cancellable `pause`, shared by every loop that retries — the print
//! engine reopening the printer, the status outbox, the NATS intake.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

/// Doubling waits: `first`, 2×`first`, 4×`first`, … up to `max`; `reset` after a success.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    first: Duration,
    max: Duration,
    next: Duration,
}

impl Backoff {
    /// Starts at `first`, never waits more than `max`.
    pub fn new(first: Duration, max: Duration) -> Self {
        Self {
            first,
            max: max.max(first),
            next: first,
        }
    }

    /// The wait before the next try; the one after it doubles (up to the ceiling).
    pub fn next_wait(&mut self) -> Duration {
        let wait = self.next;
        self.next = (self.next * 2).min(self.max);
        wait
    }

    /// The wait the next failure would get, without counting it.
    pub fn peek(&self) -> Duration {
        self.next
    }

    /// After a success: the next failure waits `first` again.
    pub fn reset(&mut self) {
        self.next = self.first;
    }
}

/// Sleeps `d`, or less if `shutdown` comes first.
pub async fn pause(shutdown: &CancellationToken, d: Duration) {
    tokio::select! {
        () = shutdown.cancelled() => {}
        () = tokio::time::sleep(d) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_up_to_the_ceiling_and_start_over_after_a_success() {
        let ms = Duration::from_millis;
        let mut b = Backoff::new(ms(500), ms(3_000));
        let waits: Vec<_> = (0..5).map(|_| b.next_wait()).collect();
        assert_eq!(waits, [ms(500), ms(1_000), ms(2_000), ms(3_000), ms(3_000)]);
        b.reset();
        assert_eq!(b.peek(), ms(500));
        assert_eq!(b.next_wait(), ms(500));
        // A ceiling under the floor is the floor.
        let mut c = Backoff::new(ms(100), ms(10));
        assert_eq!((c.next_wait(), c.next_wait()), (ms(100), ms(100)));
    }

    #[tokio::test(start_paused = true)]
    async fn a_pause_ends_at_shutdown() {
        let stop = CancellationToken::new();
        let t0 = tokio::time::Instant::now();
        pause(&stop, Duration::from_secs(5)).await;
        assert_eq!(t0.elapsed(), Duration::from_secs(5));
        stop.cancel();
        let t1 = tokio::time::Instant::now();
        pause(&stop, Duration::from_secs(5)).await;
        assert_eq!(t1.elapsed(), Duration::ZERO);
    }
}
