//! Who runs now, who waits, and who is turned away.
//!
//! `concurrency` permits: a request holds one while its program compiles
//! (source) and runs. Up to `queue` requests wait for a permit, in the
//! order they came; one more is refused at once (503), as is a request
//! from a client that already has `client_limit` requests running or
//! waiting (429). Both answers carry `Retry-After`, about the time a run
//! takes on average (at least a second). A request whose client goes away
//! while it waits leaves the queue; one that is running runs to its end
//! (its limits bound it), and its permit is freed then.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::metrics::Metrics;

#[derive(Debug)]
pub struct Admission {
    permits: Arc<Semaphore>,
    concurrency: usize,
    queue: usize,
    waiting: AtomicUsize,
    client_limit: Option<usize>,
    clients: Mutex<HashMap<Arc<str>, usize>>,
    /// A moving average of how long runs take, in microseconds.
    average_us: AtomicU64,
    running: Gauge,
    queued: Gauge,
    queue_seconds: Histogram,
}

/// Why a request was turned away.
#[derive(Debug)]
pub enum Refused {
    /// Every slot and queue place is taken.
    Overloaded { retry_after: u64 },
    /// The client has as many requests in flight as it may.
    ClientLimit { limit: usize, retry_after: u64 },
}

/// A request's right to run: its permit, and its place in its client's
/// count. Dropped when the run ends (or the request is abandoned).
#[derive(Debug)]
pub struct Ticket {
    _permit: OwnedSemaphorePermit,
    _client: ClientSlot,
    running: Gauge,
}

impl Drop for Ticket {
    fn drop(&mut self) {
        self.running.dec();
    }
}

impl Admission {
    pub fn new(
        concurrency: usize,
        queue: usize,
        client_limit: Option<usize>,
        metrics: &Metrics,
    ) -> Arc<Admission> {
        Arc::new(Admission {
            permits: Arc::new(Semaphore::new(concurrency)),
            concurrency,
            queue,
            waiting: AtomicUsize::new(0),
            client_limit,
            clients: Mutex::new(HashMap::new()),
            average_us: AtomicU64::new(0),
            running: metrics.running.clone(),
            queued: metrics.queued.clone(),
            queue_seconds: metrics.queue_seconds.clone(),
        })
    }

    /// A ticket for `client`, waiting in the queue if every slot is
    /// taken.
    pub async fn admit(self: &Arc<Self>, client: &Arc<str>) -> Result<Ticket, Refused> {
        let slot = self.client_slot(client)?;
        let start = Instant::now();
        let permit = match self.permits.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                let place = Waiting::enter(self).ok_or(Refused::Overloaded {
                    retry_after: self.retry_after(),
                })?;
                // The semaphore is never closed.
                let permit = self.permits.clone().acquire_owned().await.map_err(|_| {
                    Refused::Overloaded {
                        retry_after: self.retry_after(),
                    }
                })?;
                drop(place);
                permit
            }
        };
        self.queue_seconds.observe(start.elapsed().as_secs_f64());
        self.running.inc();
        Ok(Ticket {
            _permit: permit,
            _client: slot,
            running: self.running.clone(),
        })
    }

    /// Records how long a run took, for `Retry-After`.
    pub fn ran(&self, took: Duration) {
        let took = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        // Races between runs lose an update at worst, which an estimate
        // can afford.
        let average = self.average_us.load(Ordering::Relaxed);
        let next = if average == 0 {
            took
        } else {
            average - average / 8 + took / 8
        };
        self.average_us.store(next, Ordering::Relaxed);
    }

    /// Requests running or waiting.
    pub fn in_flight(&self) -> usize {
        self.concurrency - self.permits.available_permits() + self.waiting.load(Ordering::SeqCst)
    }

    /// Seconds until a slot is likely to free up: the average run time
    /// over the slots, rounded up, at least 1.
    fn retry_after(&self) -> u64 {
        let average = self.average_us.load(Ordering::Relaxed);
        (average / self.concurrency as u64)
            .div_ceil(1_000_000)
            .max(1)
    }

    fn client_slot(self: &Arc<Self>, client: &Arc<str>) -> Result<ClientSlot, Refused> {
        let mut clients = self.clients.lock().unwrap_or_else(PoisonError::into_inner);
        let count = clients.entry(client.clone()).or_insert(0);
        if let Some(limit) = self.client_limit
            && *count >= limit
        {
            return Err(Refused::ClientLimit {
                limit,
                retry_after: self.retry_after(),
            });
        }
        *count += 1;
        Ok(ClientSlot {
            admission: self.clone(),
            client: client.clone(),
        })
    }
}

/// One request of a client's, counted while it lives.
#[derive(Debug)]
struct ClientSlot {
    admission: Arc<Admission>,
    client: Arc<str>,
}

impl Drop for ClientSlot {
    fn drop(&mut self) {
        let mut clients = self
            .admission
            .clients
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = clients.get_mut(&self.client) {
            *count -= 1;
            if *count == 0 {
                clients.remove(&self.client);
            }
        }
    }
}

/// A place in the queue, left when dropped: when the request gets its
/// permit, or its client goes away while it waits.
struct Waiting<'a>(&'a Admission);

impl<'a> Waiting<'a> {
    fn enter(admission: &'a Admission) -> Option<Waiting<'a>> {
        let entered = admission
            .waiting
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < admission.queue).then_some(n + 1)
            });
        entered.ok().map(|_| {
            admission.queued.inc();
            Waiting(admission)
        })
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.waiting.fetch_sub(1, Ordering::SeqCst);
        self.0.queued.dec();
    }
}
