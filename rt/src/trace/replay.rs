//! Replaying: stand-ins for capabilities that answer each call from a
//! trace, and stop the run at the first call that differs.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use tape_compiler::Roles;
use wasmtime::{AsContextMut, Caller, Linker, Val};

use super::record::{func_type, read_values, roles};
use super::{Call, Trace, Value};
use crate::capability::{Capability, Spec};
use crate::core::CORE_SPEC;
use crate::error::{Error, ErrorKind, Result};
use crate::grants::Grants;
use crate::guest;
use crate::state::State;

/// A capability with nothing behind it: each call is answered from the
/// trace the run replays ([`Run::replay`](crate::Run::replay)). In a run
/// that is not a replay, its first call stops the run with an error that
/// says so.
#[derive(Debug, Clone, Copy)]
pub struct StandIn {
    spec: Spec,
}

impl StandIn {
    /// A stand-in for the capability `spec` describes.
    pub fn new(spec: Spec) -> StandIn {
        StandIn { spec }
    }
}

/// `grants` with every capability it knows or grants (but `core`) replaced
/// by a [`StandIn`]: the grants a replay compiles and links with, so that
/// nothing the program calls reaches a file, a database or the network.
pub fn stand_ins(grants: &Grants) -> Grants {
    let mut offline = Grants::new();
    let mut specs = Vec::new();
    grants.catalogued(|spec| {
        if spec.name != CORE_SPEC.name {
            specs.push(*spec);
        }
    });
    offline = offline.know(specs.iter().copied());
    for spec in specs {
        offline.add(Arc::new(StandIn::new(spec)));
    }
    offline
}

/// The replay a run carries in its [`State`].
pub(crate) struct Replaying {
    pub(crate) trace: Arc<Trace>,
    /// The next recorded call to answer.
    pub(crate) next: usize,
    /// `next`, where the [`Run`](crate::Run) reads it once the run ended.
    pub(crate) answered: Arc<std::sync::atomic::AtomicUsize>,
    /// Shown each call as it is answered.
    pub(crate) observer: Option<Observer>,
}

/// Called with each call as it is replayed (the CLI prints `log.write`'s
/// messages this way).
pub(crate) type Observer = Box<dyn FnMut(&Call) + Send>;

impl Capability for StandIn {
    fn spec(&self) -> &Spec {
        &self.spec
    }

    fn register(&self, linker: &mut Linker<State>) -> wasmtime::Result<()> {
        let spec = self.spec;
        for function in spec.functions {
            let ty = func_type(linker.engine(), function)?;
            let roles = roles(function);
            let name = call_name(spec.name, function.name);
            linker.func_new(
                spec.name,
                function.name,
                ty,
                move |mut caller: Caller<'_, State>, params: &[Val], results: &mut [Val]| {
                    answer(&mut caller, &spec, name, &roles, params, results)
                },
            )?;
        }
        Ok(())
    }

    fn is_stand_in(&self) -> bool {
        true
    }
}

/// `module.function` as a `&'static str`, as a [`Reason`] names its call:
/// made once per name.
fn call_name(module: &str, function: &str) -> &'static str {
    static NAMES: OnceLock<Mutex<HashMap<String, &'static str>>> = OnceLock::new();
    let name = format!("{module}.{function}");
    let mut names = NAMES
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    names
        .entry(name.clone())
        .or_insert_with(|| Box::leak(name.into_boxed_str()))
}

/// Answers one call from the trace.
fn answer(
    caller: &mut Caller<'_, State>,
    spec: &Spec,
    name: &'static str,
    roles: &Roles,
    params: &[Val],
    results: &mut [Val],
) -> wasmtime::Result<()> {
    let function = name.split_once('.').map_or(name, |(_, f)| f);
    let mut sent = read_values(caller, params, &roles.params);
    if let Some(redact) = spec.redact {
        for (index, value) in sent.iter_mut().enumerate() {
            if let Value::Data { bytes, .. } = value {
                (redact.0)(function, index, bytes);
            }
        }
    }
    let here = Call::new(name, sent, Vec::new());
    let Some(replaying) = caller.data_mut().get::<Replaying>() else {
        return Err(Error::capability(
            spec.name,
            "is a stand-in that answers only from a trace, and this run replays none",
        )
        .into());
    };
    let index = replaying.next;
    let recorded = replaying.trace.calls.get(index).cloned();
    let Some(recorded) = recorded.filter(|r| same_request(r, &here)) else {
        let trace = replaying.trace.clone();
        let signature = spec.function(function).map_or("", |f| f.signature);
        return Err(diverged(caller, &trace, index, here, signature).into());
    };
    replaying.next += 1;
    replaying
        .answered
        .store(replaying.next, std::sync::atomic::Ordering::Relaxed);
    if let Some(observe) = replaying.observer.as_mut() {
        observe(&recorded);
    }
    caller.data_mut().count_call(spec.name);
    if let Some(error) = &recorded.error {
        return Err(Error::capability(
            spec.name,
            format!("stopped the recorded run in `{name}`: {error}"),
        )
        .into());
    }
    write_back(caller, &recorded, params, results)?;
    if let Some(message) = &recorded.reason {
        let status = recorded.results.iter().rev().find_map(|v| match v {
            Value::I32(n) => Some(*n),
            _ => None,
        });
        guest::fail(&mut *caller, name, status.unwrap_or(0), message.clone());
    }
    Ok(())
}

/// The same function, sent the same numbers and data (anything, when the
/// trace does not say what was sent).
fn same_request(recorded: &Call, here: &Call) -> bool {
    if recorded.function != here.function {
        return false;
    }
    recorded.params.is_empty()
        || (recorded.params.len() == here.params.len()
            && recorded
                .params
                .iter()
                .zip(&here.params)
                .all(|(a, b)| a.same_request(b)))
}

/// Puts what the recorded call gave back where the program finds it: its
/// data in fresh memory (at the addresses the recording had, when the
/// allocator is where it was), bytes at a `mem` parameter, the numbers.
fn write_back(
    caller: &mut Caller<'_, State>,
    recorded: &Call,
    params: &[Val],
    results: &mut [Val],
) -> Result<()> {
    if results.len() != recorded.results.len() {
        return Err(ErrorKind::Trace {
            message: format!(
                "`{}` returns {} values, and the trace has {}",
                recorded.function,
                results.len(),
                recorded.results.len()
            ),
        }
        .into());
    }
    let top = caller.data().memory.top;
    let in_place = match recorded.top {
        Some((before, after)) if before == top && after >= before => {
            guest::alloc(
                &mut *caller,
                u32::try_from(after - before).unwrap_or(u32::MAX),
            )?;
            true
        }
        _ => false,
    };
    for (slot, value) in results.iter_mut().zip(&recorded.results) {
        *slot = match value {
            Value::I32(n) => Val::I32(*n),
            Value::I64(n) => Val::I64(*n),
            Value::F32(bits) => Val::F32(*bits),
            Value::F64(bits) => Val::F64(*bits),
            Value::Data { ptr, bytes } => {
                let ptr = if in_place && put_at(caller, *ptr, bytes) {
                    *ptr
                } else {
                    guest::write_bytes(&mut *caller, bytes)?
                };
                Val::I32(ptr as i32)
            }
        };
    }
    if let Some(filled) = &recorded.filled
        && let Some(Val::I32(ptr)) = params.first()
    {
        let memory = caller.data().memory.handle()?;
        let data = memory.data_mut(caller.as_context_mut());
        let start = *ptr as u32 as usize;
        if let Some(target) = data.get_mut(start..start + filled.len()) {
            target.copy_from_slice(filled);
        }
    }
    Ok(())
}

/// Writes `[len][bytes]` at `ptr`, inside what the allocator handed out;
/// false if it does not fit there.
fn put_at(caller: &mut Caller<'_, State>, ptr: u32, bytes: &[u8]) -> bool {
    let top = caller.data().memory.top;
    let Ok(memory) = caller.data().memory.handle() else {
        return false;
    };
    let end = u64::from(ptr) + 4 + bytes.len() as u64;
    if end > top {
        return false;
    }
    let data = memory.data_mut(caller.as_context_mut());
    let start = ptr as usize;
    let Some(target) = data.get_mut(start..start + 4 + bytes.len()) else {
        return false;
    };
    target[..4].copy_from_slice(&(bytes.len() as u32).to_le_bytes());
    target[4..].copy_from_slice(bytes);
    true
}

/// The error for a call the trace does not have where the run made it.
fn diverged(
    caller: &mut Caller<'_, State>,
    trace: &Trace,
    index: usize,
    here: Call,
    signature: &str,
) -> Error {
    let backtrace = wasmtime::WasmBacktrace::capture(&*caller);
    let stack = crate::trap::to_stack(&backtrace, caller.data().metadata.as_deref());
    let recorded = trace.calls.get(index);
    let difference = match recorded {
        None => format!(
            "the recording ends after {index} calls, and the program called `{}`",
            here.function
        ),
        Some(recorded) if recorded.function != here.function => format!(
            "the program called `{}`, and the recording has `{}`",
            here.function, recorded.function
        ),
        Some(recorded) => {
            let names = param_names(signature);
            let which: Vec<String> = recorded
                .params
                .iter()
                .zip(&here.params)
                .enumerate()
                .filter(|(_, (a, b))| !a.same_request(b))
                .map(|(i, _)| match names.get(i) {
                    Some(name) => format!("`{name}`"),
                    None => format!("parameter {i}"),
                })
                .collect();
            format!(
                "the program sent `{}` another {} than the recording has",
                here.function,
                which.join(" and ")
            )
        }
    };
    ErrorKind::Diverged {
        index,
        difference,
        recorded: recorded.map(Call::show_request),
        made: here.show_request(),
        stack,
    }
    .into()
}

/// The names of a function's parameters, `$key`, from its signature.
fn param_names(signature: &str) -> Vec<&str> {
    signature
        .split("(param")
        .skip(1)
        .filter_map(|group| group.split_whitespace().next())
        .filter(|word| word.starts_with('$'))
        .collect()
}
