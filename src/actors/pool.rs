//! A fixed pool of supervised actors, each on its own arbiter (thread), picked round
//! robin. Requests to a pool are spread evenly; a dead actor is restarted by its
//! supervisor at the same address, so the pool never needs rebuilding.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use actix::{Actor, Addr, Arbiter, Context, Supervised, Supervisor};

pub struct ActorPool<A: Actor> {
    addrs: Arc<Vec<Addr<A>>>,
    next: Arc<AtomicUsize>,
}

impl<A: Actor> Clone for ActorPool<A> {
    fn clone(&self) -> Self {
        ActorPool { addrs: self.addrs.clone(), next: self.next.clone() }
    }
}

impl<A> ActorPool<A>
where
    A: Actor<Context = Context<A>> + Supervised + Send,
{
    /// Starts `size` actors built by `make(index)`, one arbiter each. The arbiters are
    /// pushed to `arbiters` so the application can stop them at shutdown.
    pub fn start<F>(size: usize, arbiters: &mut Vec<Arbiter>, make: F) -> ActorPool<A>
    where
        F: Fn(usize) -> A + Send + Sync + Clone + 'static,
    {
        let addrs = (0..size)
            .map(|index| {
                let arbiter = Arbiter::new();
                let make = make.clone();
                let addr = Supervisor::start_in_arbiter(&arbiter.handle(), move |_| make(index));
                arbiters.push(arbiter);
                addr
            })
            .collect();
        ActorPool { addrs: Arc::new(addrs), next: Arc::new(AtomicUsize::new(0)) }
    }
}

impl<A: Actor> ActorPool<A> {
    pub fn pick(&self) -> &Addr<A> {
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.addrs.len();
        &self.addrs[i]
    }

    pub fn all(&self) -> &[Addr<A>] {
        &self.addrs
    }
}
