//! Pure alerting logic, no I/O: the per-instance state machine ([`state`]) and how a
//! rule turns the shared window data into one value per instance ([`values`]). The
//! actors (`actors::alert`, `actors::alert_supervisor`) drive these with real time and
//! storage; here everything is unit-tested with explicit clocks.

pub mod plan;
pub mod slices;
pub mod state;
pub mod values;

pub use state::{AlertState, InstanceState, Observation, Transition};
pub use values::{instance_key, QueryShape, SeriesWindow, WindowData};
