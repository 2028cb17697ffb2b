//! Recording: each capability wrapped so that its calls are written down
//! as they happen.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tape_compiler::{Role, Roles};
use wasmtime::{Caller, Extern, Func, FuncType, Linker, Val, ValType};

use super::{ByteBuf, Call, Value};
use crate::capability::{Capability, Function, Spec};
use crate::error::{Error, Result};
use crate::guest;
use crate::state::State;

/// A granted capability whose calls are recorded when the run carries a
/// [`Recording`], and pass straight through when it does not.
pub(crate) struct Recorded {
    pub(crate) inner: Arc<dyn Capability>,
}

/// A run's recording, in its [`State`]: the calls so far, shared with the
/// [`Run`](crate::Run) that reads them back once the run has ended.
#[derive(Clone)]
pub(crate) struct Recording {
    pub(crate) calls: Arc<Mutex<Kept>>,
}

/// What a recording holds.
#[derive(Default)]
pub(crate) struct Kept {
    pub(crate) calls: Vec<Call>,
    pub(crate) bytes: u64,
    pub(crate) max_bytes: u64,
    /// Each inner function, made in the run's store at its first call.
    funcs: HashMap<(&'static str, &'static str), Func>,
}

impl Recording {
    pub(crate) fn new(max_bytes: u64) -> Recording {
        Recording {
            calls: Arc::new(Mutex::new(Kept {
                max_bytes,
                ..Kept::default()
            })),
        }
    }
}

impl Capability for Recorded {
    fn spec(&self) -> &Spec {
        self.inner.spec()
    }

    fn register(&self, linker: &mut Linker<State>) -> wasmtime::Result<()> {
        let mut inner = Linker::new(linker.engine());
        self.inner.register(&mut inner)?;
        let inner = Arc::new(inner);
        let spec = *self.inner.spec();
        for function in spec.functions {
            let ty = func_type(linker.engine(), function)?;
            let roles = roles(function);
            let inner = inner.clone();
            linker.func_new(
                spec.name,
                function.name,
                ty,
                move |mut caller: Caller<'_, State>, params: &[Val], results: &mut [Val]| {
                    let recording = caller.data_mut().get::<Recording>().cloned();
                    let func =
                        inner_func(&mut caller, &inner, &spec, function, recording.as_ref())?;
                    match recording {
                        None => func.call(&mut caller, params, results),
                        Some(recording) => record(
                            &mut caller,
                            &recording,
                            &spec,
                            function,
                            &roles,
                            func,
                            params,
                            results,
                        ),
                    }
                },
            )?;
        }
        Ok(())
    }

    fn begin_run(&self, state: &mut State) {
        self.inner.begin_run(state);
    }

    fn end_run(&self, state: &mut State, completed: bool) -> wasmtime::Result<()> {
        self.inner.end_run(state, completed)
    }
}

/// The capability's own function, in this run's store.
fn inner_func(
    caller: &mut Caller<'_, State>,
    inner: &Linker<State>,
    spec: &Spec,
    function: &'static Function,
    recording: Option<&Recording>,
) -> wasmtime::Result<Func> {
    let key = (spec.name, function.name);
    if let Some(recording) = recording
        && let Some(func) = lock(recording).funcs.get(&key)
    {
        return Ok(*func);
    }
    let func = match inner.get(&mut *caller, spec.name, function.name) {
        Ok(Extern::Func(func)) => func,
        _ => {
            return Err(Error::capability(
                spec.name,
                format!("does not define `{}`, which its spec lists", function.name),
            )
            .into());
        }
    };
    if let Some(recording) = recording {
        lock(recording).funcs.insert(key, func);
    }
    Ok(func)
}

fn lock(recording: &Recording) -> std::sync::MutexGuard<'_, Kept> {
    // A poisoned lock only means a host function panicked mid-record; the
    // calls before it are whole.
    recording
        .calls
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[allow(clippy::too_many_arguments)]
fn record(
    caller: &mut Caller<'_, State>,
    recording: &Recording,
    spec: &Spec,
    function: &Function,
    roles: &Roles,
    func: Func,
    params: &[Val],
    results: &mut [Val],
) -> wasmtime::Result<()> {
    let mut sent = read_values(caller, params, &roles.params);
    if let Some(redact) = spec.redact {
        for (index, value) in sent.iter_mut().enumerate() {
            if let Value::Data { bytes, .. } = value {
                (redact.0)(function.name, index, bytes);
            }
        }
    }
    let top_before = caller.data().memory.top;
    let reasons_before = caller.data().reasons_recorded;
    let called = func.call(&mut *caller, params, results);
    let mut call = Call {
        function: format!("{}.{}", spec.name, function.name),
        params: sent,
        results: Vec::new(),
        filled: None,
        top: None,
        reason: None,
        error: None,
    };
    match &called {
        Ok(()) => {
            call.results = read_values(caller, results, &roles.results);
            call.filled = filled(caller, params, &roles.params);
            call.top = Some((top_before, caller.data().memory.top));
            if caller.data().reasons_recorded != reasons_before {
                call.reason = caller.data().last_reason().map(|r| r.message.clone());
            }
        }
        Err(error) => call.error = Some(format!("{error:#}")),
    }
    let mut recorded = lock(recording);
    recorded.bytes += call.weight();
    if recorded.bytes > recorded.max_bytes {
        return Err(Error::capability(
            "record",
            format!(
                "the recording passed its bound of {} bytes at call {} (`{}`); record a shorter run, or raise the bound",
                recorded.max_bytes,
                recorded.calls.len() + 1,
                call.function
            ),
        )
        .into());
    }
    recorded.calls.push(call);
    drop(recorded);
    called
}

/// The values as a trace keeps them: pointers to data (by the roles) with
/// the data they point at, numbers as numbers.
pub(super) fn read_values(
    caller: &Caller<'_, State>,
    values: &[Val],
    roles: &[Role],
) -> Vec<Value> {
    values
        .iter()
        .enumerate()
        .map(|(index, value)| {
            let pointer = roles.get(index).is_some_and(|r| r.is_pointer());
            match *value {
                Val::I32(ptr) if pointer && ptr != 0 => match guest::read_bytes(caller, ptr as u32)
                {
                    Ok(bytes) => Value::Data {
                        ptr: ptr as u32,
                        bytes: ByteBuf::from(bytes),
                    },
                    Err(_) => Value::I32(ptr),
                },
                Val::I32(n) => Value::I32(n),
                Val::I64(n) => Value::I64(n),
                Val::F32(bits) => Value::F32(bits),
                Val::F64(bits) => Value::F64(bits),
                _ => Value::I32(0),
            }
        })
        .collect()
}

/// The bytes written at a `mem` parameter, as long as the `count` after
/// it says.
fn filled(caller: &Caller<'_, State>, params: &[Val], roles: &[Role]) -> Option<ByteBuf> {
    let index = roles.iter().position(|r| *r == Role::Mem)?;
    let (Some(Val::I32(ptr)), Some(Val::I32(len))) = (params.get(index), params.get(index + 1))
    else {
        return None;
    };
    let memory = caller.data().memory.handle().ok()?;
    let data = memory.data(caller);
    let start = *ptr as u32 as usize;
    let end = start.checked_add(*len as u32 as usize)?;
    data.get(start..end).map(|b| ByteBuf::from(b.to_vec()))
}

/// A function's roles, or none known (every value a number).
pub(super) fn roles(function: &Function) -> Roles {
    Roles::parse(function.roles)
        .ok()
        .filter(|roles| roles.matches(function.signature))
        .unwrap_or_default()
}

/// The wasmtime type of a function's WAT signature.
pub(super) fn func_type(engine: &wasmtime::Engine, function: &Function) -> Result<FuncType> {
    let types = function
        .types()
        .map_err(|message| Error::from(crate::error::ErrorKind::Internal { message }))?;
    let val = |ty: &crate::ValueType| match ty {
        crate::ValueType::I64 => ValType::I64,
        crate::ValueType::F32 => ValType::F32,
        crate::ValueType::F64 => ValType::F64,
        _ => ValType::I32,
    };
    Ok(FuncType::new(
        engine,
        types.params.iter().map(val),
        types.results.iter().map(val),
    ))
}
