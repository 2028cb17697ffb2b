//! The cause of a stack-type error.
//!
//! A validator notices a wrong stack where it checks it: "values remaining
//! on stack at end of block" at the end of a function, far from the call
//! that left the value there. This module validates the function again,
//! one instruction at a time, remembering for every value on the stack the
//! instruction that pushed it, and so finds the instruction to blame.

use wasmparser::{
    BlockType, FuncValidatorAllocations, ModuleArity, Operator, Parser, ValidPayload, Validator,
};

/// An instruction, by its offset in the module, and what it did to the
/// stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Step {
    pub offset: usize,
    /// Values it took.
    pub takes: u32,
    /// Values it left.
    pub gives: u32,
}

/// What made a stack-type error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Cause {
    /// A value no instruction took, left on the stack at the end of a
    /// block: made by `origin` (its value number `index`, from 0), and
    /// passed over by `next`, the first instruction after it to take the
    /// values above it but not it, if any.
    LeftOver {
        origin: Step,
        index: u32,
        next: Option<Step>,
    },
    /// The failing instruction found a value of the wrong type, which
    /// `origin` made.
    WrongType { origin: Step },
    /// A block (the function itself, if `function`) ends without the
    /// values it returns.
    EndsWithout { function: bool },
    /// The failing instruction takes `takes` values, and its block holds
    /// only `available`.
    TooFew { takes: u32, available: u32 },
}

/// Why the validator refused function `defined` (among the functions the
/// module defines, from 0) at `offset`, if the stack's history says.
pub(crate) fn explain(
    wasm: &[u8],
    features: wasmparser::WasmFeatures,
    defined: u32,
    offset: usize,
    message: &str,
) -> Option<Cause> {
    let mut validator = Validator::new_with_features(features);
    let mut seen = 0;
    for payload in Parser::new(0).parse_all(wasm) {
        let payload = payload.ok()?;
        let ValidPayload::Func(func, body) = validator.payload(&payload).ok()? else {
            continue;
        };
        if seen < defined {
            seen += 1;
            continue;
        }
        let mut func = func.into_validator(FuncValidatorAllocations::default());
        let mut locals = body.get_locals_reader().ok()?;
        for _ in 0..locals.get_count() {
            let at = locals.original_position();
            let (count, ty) = locals.read().ok()?;
            func.define_locals(at, count, ty).ok()?;
        }
        let mut stack: Vec<Option<(Step, u32)>> = Vec::new();
        let mut history: Vec<(Step, usize)> = Vec::new();
        let mut operators = body.get_operators_reader().ok()?;
        while !operators.eof() {
            let (operator, at) = operators.read_with_offset().ok()?;
            let (takes, gives) = operator.operator_arity(&func).unwrap_or((0, 0));
            let step = Step {
                offset: at,
                takes,
                gives,
            };
            let frame = func
                .get_control_frame(0)
                .map(|frame| (frame.height, frame.block_type));
            if at == offset {
                return cause(&func, &stack, &history, frame, &operator, message);
            }
            if func.op(at, &operator).is_err() {
                return None;
            }
            let height_before = stack.len();
            stack.truncate(stack.len().saturating_sub(takes as usize));
            for index in 0..gives {
                stack.push(Some((step, index)));
            }
            // The validator knows the true height (after a branch, say);
            // what it dropped or made up is nobody's.
            let height = func.operand_stack_height() as usize;
            stack.resize(height, None);
            history.push((step, height_before));
        }
        return None;
    }
    None
}

fn cause<T: wasmparser::WasmModuleResources>(
    func: &wasmparser::FuncValidator<T>,
    stack: &[Option<(Step, u32)>],
    history: &[(Step, usize)],
    frame: Option<(usize, BlockType)>,
    operator: &Operator<'_>,
    message: &str,
) -> Option<Cause> {
    if message.contains("values remaining on stack") && matches!(operator, Operator::End) {
        let (height, block_type) = frame?;
        let (_, results) = func.block_type_arity(block_type)?;
        let extra = stack.len().checked_sub(results as usize)?;
        // Values below the block's results, from its base up: the first
        // is the one to blame.
        let position = height;
        if position >= extra {
            return None;
        }
        let (origin, index) = stack.get(position).copied().flatten()?;
        // The first instruction after it that took the values above it
        // and stopped short of it.
        let next = history
            .iter()
            .skip_while(|(step, _)| step.offset <= origin.offset)
            .find(|(step, before)| step.takes > 0 && before - step.takes as usize == position + 1)
            .map(|(step, _)| *step);
        return Some(Cause::LeftOver {
            origin,
            index,
            next,
        });
    }
    if message.contains("nothing on stack") && matches!(operator, Operator::End) {
        return Some(Cause::EndsWithout {
            function: func.control_stack_height() == 1,
        });
    }
    if message.contains("nothing on stack") {
        let (takes, _) = operator.operator_arity(func)?;
        let (height, _) = frame?;
        let available = (func.operand_stack_height() as usize).checked_sub(height)?;
        return Some(Cause::TooFew {
            takes,
            available: available as u32,
        });
    }
    if let Some((_, found)) = message.split_once(", found ") {
        // The value the instruction took first (from the top) that has
        // the type the validator found.
        let (takes, _) = operator.operator_arity(func)?;
        let depth = (0..takes as usize).find(|&depth| {
            matches!(func.get_operand_type(depth), Some(Some(ty)) if ty.to_string() == found.trim())
        })?;
        let (origin, _) = stack
            .get(stack.len().checked_sub(depth + 1)?)
            .copied()
            .flatten()?;
        return Some(Cause::WrongType { origin });
    }
    None
}
