use wasmtime::Linker;

use crate::capability::Function;
use crate::{Capability, Error, State};

/// A built-in capability's catalogue entry, without the capability: those
/// that exist only once the host configures them (a database file, a
/// directory) are listed with this, so the compiler knows their imports and
/// the linker can say which grant a program lacks.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Listed {
    pub(crate) name: &'static str,
    pub(crate) description: &'static str,
    pub(crate) functions: &'static [Function],
}

impl Capability for Listed {
    fn name(&self) -> &str {
        self.name
    }

    fn description(&self) -> &str {
        self.description
    }

    fn functions(&self) -> &[Function] {
        self.functions
    }

    fn register(&self, _linker: &mut Linker<State>) -> wasmtime::Result<()> {
        Err(Error::Host(format!(
            "`{}` is only a catalogue entry; grant the configured capability instead",
            self.name
        ))
        .into())
    }
}
