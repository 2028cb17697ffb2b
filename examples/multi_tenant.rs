//! One compiled program serving many tenants: a host that runs the same
//! `Program` for each request, with per-run host data.
//!
//! Each run carries its tenant (a `Tenant` value its own capability reads)
//! and a `kv` namespace of its own (`tape_caps::kv::Namespace`), so one
//! program, compiled and linked once, keeps every tenant's state apart. The
//! engine pools instances, and runs go on in parallel threads.
//!
//! Run with `cargo run --example multi_tenant`.

use std::sync::Arc;

use tape_caps::kv::{Kv, Namespace};
use tape_rt::wasmtime::{self, Caller, Linker};
use tape_rt::{
    Capability, Config, Engine, ErrorKind, Function, Limits, Pooling, Program, Run, Spec, State,
    guest, status,
};

/// Who a run is for: host data, set per run.
#[derive(Debug, Clone)]
struct Tenant {
    name: String,
    plan: &'static str,
}

/// `tenant.name() -> (ptr, status)` and `tenant.plan() -> (ptr, status)`:
/// what the program may know about whom it runs for.
struct TenantInfo;

const TENANT: Spec = Spec::new(
    "tenant",
    "the tenant a run is for",
    &[
        Function::new("name", "(result i32 i32)")
            .roles("-> str status")
            .doc("The tenant's name: (pointer, status)."),
        Function::new("plan", "(result i32 i32)")
            .roles("-> str status")
            .doc("The tenant's plan, `free` or `pro`: (pointer, status)."),
    ],
);

impl Capability for TenantInfo {
    fn spec(&self) -> &Spec {
        &TENANT
    }

    fn register(&self, linker: &mut Linker<State>) -> wasmtime::Result<()> {
        fn reply(
            mut caller: Caller<'_, State>,
            field: fn(&Tenant) -> &str,
        ) -> wasmtime::Result<(i32, i32)> {
            caller.data_mut().count_call("tenant");
            // A run without a tenant is the host's mistake: say so to the
            // program as a status, not a trap.
            let Some(tenant) = caller.data_mut().get::<Tenant>().cloned() else {
                return Ok((0, status::NOT_FOUND));
            };
            let ptr = guest::write_str(&mut caller, field(&tenant))?;
            Ok((ptr as i32, status::OK))
        }
        linker.func_wrap("tenant", "name", |caller: Caller<'_, State>| {
            reply(caller, |t| &t.name)
        })?;
        linker.func_wrap("tenant", "plan", |caller: Caller<'_, State>| {
            reply(caller, |t| t.plan)
        })?;
        Ok(())
    }
}

/// Counts the tenant's visits in its own namespace and greets it.
const PROGRAM: &str = r#"
(func $run (result i32)
  (local $name i32) (local $plan i32) (local $old i32) (local $n i64) (local $status i32)
  (call $tenant.name) (local.set $status) (local.set $name)
  (check (local.get $status))
  (call $tenant.plan) (local.set $status) (local.set $plan)
  (check (local.get $status))
  (call $kv.get "visits") (local.set $status) (local.set $old)
  (if (i32.eqz (local.get $status))
    (then
      (call $std.i64.parse (local.get $old)) (local.set $status) (local.set $n)
      (check (local.get $status))))
  (local.set $n (i64.add (local.get $n) (i64.const 1)))
  (check (call $kv.set "visits" (call $std.i64.to_str (local.get $n))))
  (resv (call $std.str.concat "hello, " (local.get $name)))
  (resv (call $std.str.concat (call $std.str.concat "plan " (local.get $plan))
                              (call $std.str.concat ", visit " (call $std.i64.to_str (local.get $n)))))
  (i32.const 0))
"#;

/// The host: one engine, one program, a run per request.
struct Host {
    program: Arc<Program>,
}

impl Host {
    fn new() -> tape_rt::Result<Host> {
        let engine = Engine::new(Config {
            cache_dir: None,
            pooling: Some(Pooling { instances: 16 }),
            ..Config::default()
        })?;
        let grants = tape_caps::grants()
            .grant(TenantInfo)
            .grant(Kv::in_memory()?.namespace("greeter"));
        let program = Arc::new(engine.compile_str("greeter.wat", PROGRAM, &grants)?);
        Ok(Host { program })
    }

    /// One request for `tenant`: its results, one per line.
    fn handle(&self, tenant: &Tenant) -> tape_rt::Result<Vec<String>> {
        let limits = Limits {
            fuel: Some(if tenant.plan == "pro" {
                10_000_000
            } else {
                1_000_000
            }),
            ..self.program.default_limits().clone()
        };
        let outcome = Run::new(&self.program)
            .limits(limits)
            .data(tenant.clone())
            .data(Namespace::new(&tenant.name))
            .run()?;
        (0..outcome.results.len())
            .map(|i| outcome.result::<String>(i))
            .collect()
    }
}

fn main() -> tape_rt::Result<()> {
    let host = Arc::new(Host::new()?);
    let tenants = [
        Tenant {
            name: "acme".into(),
            plan: "pro",
        },
        Tenant {
            name: "globex".into(),
            plan: "free",
        },
        Tenant {
            name: "acme".into(),
            plan: "pro",
        },
    ];
    // Requests arrive on several threads; the program is shared.
    let handles: Vec<_> = tenants
        .into_iter()
        .enumerate()
        .map(|(i, tenant)| {
            let host = host.clone();
            std::thread::spawn(move || {
                // The two `acme` requests in order, so the output is stable.
                std::thread::sleep(std::time::Duration::from_millis(20 * i as u64));
                host.handle(&tenant)
            })
        })
        .collect();
    for handle in handles {
        match handle.join().expect("a request thread") {
            Ok(lines) => println!("{}", lines.join(" / ")),
            // A busy pool is the one error worth retrying.
            Err(error) if matches!(error.kind(), ErrorKind::PoolExhausted { .. }) => {
                println!("busy: {error}");
            }
            Err(error) => return Err(error),
        }
    }
    Ok(())
}

#[test]
fn each_tenant_sees_only_its_own_state() {
    let host = Host::new().unwrap();
    let acme = Tenant {
        name: "acme".into(),
        plan: "pro",
    };
    let globex = Tenant {
        name: "globex".into(),
        plan: "free",
    };
    assert_eq!(
        host.handle(&acme).unwrap(),
        ["hello, acme", "plan pro, visit 1"]
    );
    assert_eq!(
        host.handle(&acme).unwrap(),
        ["hello, acme", "plan pro, visit 2"]
    );
    assert_eq!(
        host.handle(&globex).unwrap(),
        ["hello, globex", "plan free, visit 1"]
    );
    // Without host data the program is told, by status, that there is no
    // tenant.
    let outcome = Run::new(&host.program).run().unwrap();
    assert_eq!(outcome.status, status::NOT_FOUND);
    Spec::check(&TenantInfo).unwrap();
}

#[test]
fn the_example_runs() {
    main().unwrap();
}
