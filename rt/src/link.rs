//! Linking a module against its grants: every import checked, and every
//! problem named with the grant or fix it needs.

use std::sync::Arc;

use tape_compiler::{MEMORY_EXPORT, RUN_EXPORT};
use wasmtime::{Extern, ExternType, Linker, Module, ModuleExport, Store, Val, ValType};

use crate::capability::Capability;
use crate::engine::Engine;
use crate::error::LinkProblem;
use crate::error::{Error, ErrorKind, Result};
use crate::export::wat_type;
use crate::grants::Grants;
use crate::state::State;

/// What `run` must be, said where it is not.
pub(crate) const RUN_TYPE: &str =
    "of type `(func (result i32))`; define `(func $run (result i32) …)`";

pub(crate) fn missing_export(name: &str, expected: &str) -> Error {
    ErrorKind::MissingExport {
        name: name.into(),
        expected: expected.into(),
    }
    .into()
}

/// `mem.tape` must be a 32-bit memory; `run`, if there is one, a
/// `(func (result i32))`. A module without `run` links: it can still be
/// [invoked](Program::invoke).
pub(crate) fn check_exports(module: &Module) -> Result<(ModuleExport, Option<ModuleExport>)> {
    let memory = match module.get_export(MEMORY_EXPORT) {
        Some(ExternType::Memory(ty)) if !ty.is_64() => module.get_export_index(MEMORY_EXPORT),
        _ => None,
    }
    .ok_or_else(|| missing_export(MEMORY_EXPORT, "that is a 32-bit memory"))?;
    let run = match module.get_export(RUN_EXPORT) {
        None => None,
        Some(ExternType::Func(ty))
            if ty.params().len() == 0
                && ty.results().len() == 1
                && ty.results().all(|r| matches!(r, ValType::I32)) =>
        {
            module.get_export_index(RUN_EXPORT)
        }
        Some(_) => return Err(missing_export(RUN_EXPORT, RUN_TYPE)),
    };
    Ok((memory, run))
}

/// Every import must be a function of a granted capability; returns every
/// one that is not.
pub(crate) fn check_imports(
    module: &Module,
    granted: &[Arc<dyn Capability>],
    grants: &Grants,
) -> Vec<LinkProblem> {
    let mut problems = Vec::new();
    for import in module.imports() {
        let (module_name, name) = (import.module().to_string(), import.name().to_string());
        let kind = match import.ty() {
            ExternType::Func(_) => None,
            ExternType::Memory(_) => Some("memory"),
            ExternType::Table(_) => Some("table"),
            ExternType::Global(_) => Some("global"),
            ExternType::Tag(_) => Some("tag"),
        };
        if let Some(kind) = kind {
            problems.push(LinkProblem::NotAFunction {
                module: module_name,
                name,
                kind,
            });
        } else if let Some(capability) = granted.iter().find(|c| c.spec().name == module_name) {
            if capability.spec().function(&name).is_none() {
                problems.push(LinkProblem::UnknownFunction {
                    available: capability
                        .spec()
                        .functions
                        .iter()
                        .map(|f| f.name.to_string())
                        .collect(),
                    module: module_name,
                    name,
                });
            }
        } else if grants.is_known(&module_name) {
            problems.push(LinkProblem::NotGranted {
                module: module_name,
                function: name,
            });
        } else {
            let known = grants.names().into_iter().map(String::from).collect();
            problems.push(LinkProblem::UnknownCapability {
                module: module_name,
                name,
                known,
            });
        }
    }
    problems
}

/// Every function import whose type differs from the capability's
/// definition. Needs a store to look definitions up in, so it runs only
/// once linking has failed.
pub(crate) fn check_types(
    engine: &Engine,
    module: &Module,
    linker: &Linker<State>,
) -> Vec<LinkProblem> {
    let mut store = Store::new(engine.wasmtime(), State::new(0, 0, 0, None));
    let mut problems = Vec::new();
    for import in module.imports() {
        let ExternType::Func(wanted) = import.ty() else {
            continue;
        };
        let Some(Extern::Func(func)) = linker.get_by_import(&mut store, &import) else {
            continue;
        };
        let defined = func.ty(&store);
        if !defined.matches(&wanted) {
            problems.push(LinkProblem::WrongType {
                module: import.module().into(),
                name: import.name().into(),
                expected: wat_type(&defined),
                found: wat_type(&wanted),
            });
        }
    }
    problems
}

pub(crate) fn link_error(problems: Vec<LinkProblem>) -> Error {
    if problems
        .iter()
        .all(|p| matches!(p, LinkProblem::NotGranted { .. }))
    {
        ErrorKind::NotGranted { problems }.into()
    } else {
        ErrorKind::MissingImport { problems }.into()
    }
}

/// Numbers of the right types, one per parameter.
pub(crate) fn check_params(name: &str, ty: &wasmtime::FuncType, params: &[Val]) -> Result<()> {
    let wrong = |message: String| -> Error {
        ErrorKind::Invoke {
            function: name.into(),
            message,
        }
        .into()
    };
    if ty.params().len() != params.len() {
        return Err(wrong(format!(
            "it takes {} parameters {}, and {} were given",
            ty.params().len(),
            wat_type(ty),
            params.len()
        )));
    }
    for (index, (expected, given)) in ty.params().zip(params).enumerate() {
        let given_type = match given {
            Val::I32(_) => ValType::I32,
            Val::I64(_) => ValType::I64,
            Val::F32(_) => ValType::F32,
            Val::F64(_) => ValType::F64,
            Val::V128(_) => ValType::V128,
            _ => return Err(wrong(format!("parameter {index} is not a number"))),
        };
        if !ValType::eq(&expected, &given_type) {
            return Err(wrong(format!(
                "parameter {index} is {expected}, and {given_type} was given"
            )));
        }
    }
    Ok(())
}
