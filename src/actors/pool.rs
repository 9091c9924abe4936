//! A fixed pool of supervised actors, each on its own arbiter (thread), picked round
//! robin. Requests to a pool are spread evenly; a dead actor is restarted by its
//! supervisor at the same address, so the pool never needs rebuilding. Each actor
//! owns a readiness flag (an ingest actor clears it while it reconnects), and `pick`
//! passes over actors that are not ready as long as one is.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use actix::{Actor, Addr, Arbiter, Context, Supervised, Supervisor};

pub struct ActorPool<A: Actor> {
    addrs: Arc<Vec<Addr<A>>>,
    ready: Arc<Vec<Readiness>>,
    next: Arc<AtomicUsize>,
}

/// Set by an actor while it can serve requests.
#[derive(Clone, Default)]
pub struct Readiness(Arc<AtomicBool>);

impl Readiness {
    pub fn set(&self, ready: bool) {
        self.0.store(ready, Ordering::Relaxed);
    }

    pub fn get(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

impl<A: Actor> Clone for ActorPool<A> {
    fn clone(&self) -> Self {
        ActorPool {
            addrs: self.addrs.clone(),
            ready: self.ready.clone(),
            next: self.next.clone(),
        }
    }
}

impl<A> ActorPool<A>
where
    A: Actor<Context = Context<A>> + Supervised + Send,
{
    /// Starts `size` actors built by `make(index)`, one arbiter each, all ready.
    pub fn start<F>(size: usize, arbiters: &mut Vec<Arbiter>, make: F) -> ActorPool<A>
    where
        F: Fn(usize) -> A + Send + Sync + Clone + 'static,
    {
        Self::start_with_readiness(size, arbiters, move |index, ready| {
            ready.set(true);
            make(index)
        })
    }

    /// Starts `size` actors built by `make(index, readiness)`; each actor keeps its flag
    /// up to date. The arbiters are pushed to `arbiters` for the application to keep.
    pub fn start_with_readiness<F>(
        size: usize,
        arbiters: &mut Vec<Arbiter>,
        make: F,
    ) -> ActorPool<A>
    where
        F: Fn(usize, Readiness) -> A + Send + Sync + Clone + 'static,
    {
        let ready: Vec<Readiness> = (0..size).map(|_| Readiness::default()).collect();
        let addrs = (0..size)
            .map(|index| {
                let arbiter = Arbiter::new();
                let make = make.clone();
                let flag = ready[index].clone();
                let addr = Supervisor::start_in_arbiter(&arbiter.handle(), move |_| {
                    make(index, flag.clone())
                });
                arbiters.push(arbiter);
                addr
            })
            .collect();
        ActorPool {
            addrs: Arc::new(addrs),
            ready: Arc::new(ready),
            next: Arc::new(AtomicUsize::new(0)),
        }
    }
}

impl<A: Actor> ActorPool<A> {
    /// The next ready actor in round-robin order, or the next actor at all when none
    /// is ready (it then answers for itself, e.g. with "unavailable").
    pub fn pick(&self) -> &Addr<A> {
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let n = self.addrs.len();
        (0..n)
            .map(|k| (start + k) % n)
            .find(|&i| self.ready[i].get())
            .map(|i| &self.addrs[i])
            .unwrap_or(&self.addrs[start % n])
    }

    pub fn all(&self) -> &[Addr<A>] {
        &self.addrs
    }
}
