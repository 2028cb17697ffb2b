//! The `json` capability: reading by pointer, building, handles and their
//! limits.

use tape_caps::Json;
use tape_rt::{Args, Grants, Outcome, status};

use crate::wat_prelude::{emitted, guest};

fn json() -> Grants {
    tape_caps::grants().grant(Json::new())
}

fn int(outcome: &Outcome, i: usize) -> i32 {
    outcome.result::<(i32,)>(i).unwrap().0
}

fn int64(outcome: &Outcome, i: usize) -> i64 {
    outcome.result::<(i64,)>(i).unwrap().0
}

fn float(outcome: &Outcome, i: usize) -> f64 {
    outcome.result::<(f64,)>(i).unwrap().0
}

fn string(outcome: &Outcome, i: usize) -> String {
    outcome.result::<String>(i).unwrap()
}

#[test]
fn values_are_read_by_json_pointer() {
    let program = guest(
        r#"(func $run (result i32)
             (local $doc i32) (local $user i32) (local $tag i32)
             (local.set $doc (call $ok (call $json.parse (call $arg (i32.const 0)))))
             (call $out (call $ok (call $json.str (local.get $doc) "/user/name")))
             (call $emit64 (call $ok64 (call $json.i64 (local.get $doc) "/user/age")))
             (call $emit (call $ok (call $json.bool (local.get $doc) "/user/admin")))
             (call $emitf (call $okf (call $json.f64 (local.get $doc) "/user/score")))
             (call $emit (call $ok (call $json.type (local.get $doc) "/user/nick")))
             (call $emit (call $ok (call $json.len (local.get $doc) "/tags")))
             (local.set $tag (call $ok (call $json.item (local.get $doc) "/tags" (i32.const 1))))
             (call $out (call $ok (call $json.str (local.get $tag) "")))
             (call $out (call $ok (call $json.str (local.get $doc) "/tags/0")))
             (local.set $user (call $ok (call $json.get (local.get $doc) "/user")))
             (call $out (call $ok (call $json.keys (local.get $user) "")))
             (call $emit64 (call $ok64 (call $json.i64 (local.get $doc) "/a~1b/~0")))
             (call $emit (call $ok (call $json.type
               (call $ok (call $json.member (local.get $doc) "" "a/b")) "")))
             (call $emit (call $st64 (call $json.i64 (local.get $doc) "/big")))
             (call $emitf (call $okf (call $json.f64 (local.get $doc) "/user/age")))
             (call $emit (call $ok (call $json.len (local.get $user) "")))
             (call $emit (call $ok (call $json.type (local.get $doc) "")))
             (call $out (call $ok (call $json.str (local.get $doc) "/ü")))
             (i32.const 0))"#,
        &json(),
    );
    let doc = r#"{"user": {"name": "Ada", "age": 36, "admin": true, "score": 9.5, "nick": null},
                  "tags": ["x", "y"], "a/b": {"~": 1}, "big": 18446744073709551615, "ü": "\u00e9\n"}"#;
    let outcome = program.run(&Args::strings([doc])).unwrap();
    assert_eq!(string(&outcome, 0), "Ada");
    assert_eq!(int64(&outcome, 1), 36);
    assert_eq!(int(&outcome, 2), 1);
    assert_eq!(float(&outcome, 3), 9.5);
    assert_eq!(int(&outcome, 4), 0, "null");
    assert_eq!(int(&outcome, 5), 2);
    assert_eq!(string(&outcome, 6), "y");
    assert_eq!(string(&outcome, 7), "x");
    assert_eq!(
        outcome.result::<Vec<String>>(8).unwrap(),
        ["name", "age", "admin", "score", "nick"],
        "in document order"
    );
    assert_eq!(int64(&outcome, 9), 1);
    assert_eq!(int(&outcome, 10), 5, "an object");
    assert_eq!(int(&outcome, 11), status::TOO_LARGE, "past i64");
    assert_eq!(float(&outcome, 12), 36.0);
    assert_eq!(int(&outcome, 13), 5);
    assert_eq!(int(&outcome, 14), 5);
    assert_eq!(string(&outcome, 15), "é\n");

    let (name, usage) = &outcome.usage.capabilities[0];
    assert_eq!((name.as_str(), usage.calls), ("json", 20));
    assert!(usage.bytes_in > doc.len() as u64);
}

#[test]
fn the_examples_from_the_docs_work() {
    let read = crate::program(
        r#"(func $run (result i32)
             (local $doc i32) (local $name i32) (local $status i32)
             (call $core.arg (i32.const 0))
             (local.set $status) (local.set $doc)
             (if (local.get $status) (then (return (local.get $status))))
             (call $json.parse (local.get $doc))
             (local.set $status) (local.set $doc)
             (if (local.get $status) (then (return (local.get $status))))
             (call $json.str (local.get $doc) "/user/name")
             (local.set $status) (local.set $name)
             (if (local.get $status) (then (return (local.get $status))))
             (call $core.result (local.get $name)))"#,
        &json(),
    );
    let outcome = read
        .run(&Args::strings([r#"{"user": {"name": "Ada"}, "tags": []}"#]))
        .unwrap();
    assert_eq!(outcome.result::<&str>(0).unwrap(), "Ada");
    let outcome = read.run(&Args::strings([r#"{"user": {}}"#])).unwrap();
    assert_eq!(outcome.status, status::NOT_FOUND);
    let outcome = read.run(&Args::strings([r#"{"user": "#])).unwrap();
    assert_eq!(outcome.status, status::INVALID_ARGUMENT);

    let build = crate::program(
        r#"(func $run (result i32)
             (local $body i32) (local $tags i32) (local $text i32) (local $status i32)
             (call $json.object) (drop) (local.set $body)
             (drop (call $json.set_str (local.get $body) "model" "m"))
             (drop (call $json.set_i64 (local.get $body) "n" (i64.const 2)))
             (call $json.array) (drop) (local.set $tags)
             (drop (call $json.push_str (local.get $tags) "a"))
             (drop (call $json.set (local.get $body) "tags" (local.get $tags)))
             (call $json.stringify (local.get $body))
             (local.set $status) (local.set $text)
             (if (local.get $status) (then (return (local.get $status))))
             (call $core.result (local.get $text)))"#,
        &json(),
    );
    let outcome = build.run(&Args::new()).unwrap();
    assert_eq!(
        outcome.result::<&str>(0).unwrap(),
        r#"{"model":"m","n":2,"tags":["a"]}"#
    );
}

#[test]
fn objects_and_arrays_are_built_and_serialised_in_insertion_order() {
    let program = guest(
        r#"(func $run (result i32)
             (local $obj i32) (local $arr i32) (local $inner i32)
             (local.set $obj (call $ok (call $json.object)))
             (call $must (call $json.set_str (local.get $obj) "name" "Ada"))
             (call $must (call $json.set_i64 (local.get $obj) "age" (i64.const 36)))
             (call $must (call $json.set_f64 (local.get $obj) "pi" (f64.const 3.5)))
             (call $must (call $json.set_bool (local.get $obj) "ok" (i32.const 7)))
             (call $must (call $json.set_null (local.get $obj) "none"))
             (local.set $arr (call $ok (call $json.array)))
             (call $must (call $json.push_str (local.get $arr) "x\"y"))
             (call $must (call $json.push_i64 (local.get $arr) (i64.const -1)))
             (call $must (call $json.push_f64 (local.get $arr) (f64.const 2.5)))
             (call $must (call $json.push_bool (local.get $arr) (i32.const 0)))
             (call $must (call $json.push_null (local.get $arr)))
             (local.set $inner (call $ok (call $json.object)))
             (call $must (call $json.set_i64 (local.get $inner) "a" (i64.const 1)))
             (call $must (call $json.push (local.get $arr) (local.get $inner)))
             (call $must (call $json.set (local.get $obj) "list" (local.get $arr)))
             ;; Copies were taken: changing the originals changes nothing.
             (call $must (call $json.push_i64 (local.get $arr) (i64.const 9)))
             (call $must (call $json.set_i64 (local.get $inner) "b" (i64.const 2)))
             ;; Setting a member again replaces it where it was.
             (call $must (call $json.set_str (local.get $obj) "name" "Grace"))
             (call $out (call $ok (call $json.stringify (local.get $obj))))
             (call $out (call $ok (call $json.stringify (local.get $arr))))
             (i32.const 0))"#,
        &json(),
    );
    let outcome = program.run(&Args::new()).unwrap();
    assert_eq!(
        string(&outcome, 0),
        r#"{"name":"Grace","age":36,"pi":3.5,"ok":true,"none":null,"list":["x\"y",-1,2.5,false,null,{"a":1}]}"#
    );
    assert_eq!(
        string(&outcome, 1),
        r#"["x\"y",-1,2.5,false,null,{"a":1},9]"#
    );
}

/// An object of many members (indexed by key in the host past eight):
/// every member found, a repeated key keeps its first place with its last
/// value, a set replaces in place or appends, in the order written.
#[test]
fn a_wide_object_finds_every_member_and_keeps_its_order() {
    let program = guest(
        r#"(func $run (result i32)
             (local $doc i32) (local $i i32)
             (local.set $doc (call $ok (call $json.parse (call $arg (i32.const 0)))))
             (call $emit (call $ok (call $json.len (local.get $doc) "")))
             (local.set $i (i32.const 0))
             (loop $each
               (call $emit64 (call $ok64 (call $json.i64
                 (call $ok (call $json.item (local.get $doc) "/list" (local.get $i))) "")))
               (br_if $each (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 1)))
                                      (i32.const 3))))
             (call $emit64 (call $ok64 (call $json.i64 (local.get $doc) "/k7")))
             (call $emit64 (call $ok64 (call $json.i64 (local.get $doc) "/k29")))
             (call $emit (call $json.has (local.get $doc) "/k30") (drop))
             (call $must (call $json.set_i64 (local.get $doc) "k3" (i64.const -3)))
             (call $must (call $json.set_i64 (local.get $doc) "new" (i64.const 99)))
             (call $emit64 (call $ok64 (call $json.i64
               (call $ok (call $json.member (local.get $doc) "" "new")) "")))
             (call $out (call $ok (call $json.keys (local.get $doc) "")))
             (call $out (call $ok (call $json.stringify (local.get $doc))))
             (i32.const 0))"#,
        &json(),
    );
    // k0 … k29, then k5 again (its value replaced, its place kept), then
    // a list.
    let mut members: Vec<String> = (0..30).map(|i| format!(r#""k{i}": {i}"#)).collect();
    members.push(r#""k5": 500"#.into());
    members.push(r#""list": [10, 11, 12]"#.into());
    let doc = format!("{{{}}}", members.join(", "));
    let outcome = program.run(&Args::strings([&doc])).unwrap();
    assert_eq!(int(&outcome, 0), 31, "30 keys and the list");
    assert_eq!(
        (int64(&outcome, 1), int64(&outcome, 2), int64(&outcome, 3)),
        (10, 11, 12)
    );
    assert_eq!((int64(&outcome, 4), int64(&outcome, 5)), (7, 29));
    assert_eq!(int(&outcome, 6), 0, "no k30");
    assert_eq!(int64(&outcome, 7), 99);
    let mut keys: Vec<String> = (0..30).map(|i| format!("k{i}")).collect();
    keys.extend(["list".into(), "new".into()]);
    assert_eq!(outcome.result::<Vec<String>>(8).unwrap(), keys);
    let values: Vec<String> = (0..30)
        .map(|i| match i {
            3 => r#""k3":-3"#.to_string(),
            5 => r#""k5":500"#.to_string(),
            i => format!(r#""k{i}":{i}"#),
        })
        .collect();
    assert_eq!(
        string(&outcome, 9),
        format!(r#"{{{},"list":[10,11,12],"new":99}}"#, values.join(","))
    );
}

#[test]
fn a_parsed_document_is_edited_through_views() {
    let program = guest(
        r#"(func $run (result i32)
             (local $doc i32) (local $item i32) (local $n i32)
             (local.set $doc (call $ok (call $json.parse
               "{\"items\": [{\"n\": 1}, {\"n\": 2}], \"keep\": true}")))
             (local.set $item (call $ok (call $json.item (local.get $doc) "/items" (i32.const 1))))
             (local.set $n (call $ok (call $json.get (local.get $item) "/n")))
             (call $must (call $json.set_i64 (local.get $item) "n" (i64.const 20)))
             (call $must (call $json.set_str (local.get $item) "added" "yes"))
             (call $emit64 (call $ok64 (call $json.i64 (local.get $n) "")))
             (call $out (call $ok (call $json.stringify (local.get $doc))))
             (call $out (call $ok (call $json.stringify (local.get $item))))
             ;; Replace what the views point into: they now find nothing.
             (call $must (call $json.set_null (local.get $doc) "items"))
             (call $emit (call $st (call $json.stringify (local.get $item))))
             (call $emit (call $st64 (call $json.i64 (local.get $n) "")))
             (call $emit (call $json.set_i64 (local.get $item) "n" (i64.const 3)))
             (call $out (call $ok (call $json.stringify (local.get $doc))))
             (i32.const 0))"#,
        &json(),
    );
    let outcome = program.run(&Args::new()).unwrap();
    assert_eq!(int64(&outcome, 0), 20, "a view sees the change");
    assert_eq!(
        string(&outcome, 1),
        r#"{"items":[{"n":1},{"n":20,"added":"yes"}],"keep":true}"#
    );
    assert_eq!(string(&outcome, 2), r#"{"n":20,"added":"yes"}"#);
    assert_eq!(int(&outcome, 3), status::NOT_FOUND);
    assert_eq!(int(&outcome, 4), status::NOT_FOUND);
    assert_eq!(int(&outcome, 5), status::NOT_FOUND);
    assert_eq!(string(&outcome, 6), r#"{"items":null,"keep":true}"#);
}

#[test]
fn bad_handles_paths_and_types_are_statuses_never_traps() {
    let program = guest(
        r#"(func $run (result i32)
             (local $doc i32) (local $arr i32) (local $view i32) (local $gone i32)
             (local.set $doc (call $ok (call $json.parse
               "{\"n\": 1.5, \"s\": \"x\", \"a\": [1], \"o\": {}}")))
             (local.set $arr (call $ok (call $json.get (local.get $doc) "/a")))
             ;; Handles that are not live.
             (call $emit (call $st (call $json.str (i32.const 0) "")))
             (call $emit (call $st (call $json.get (i32.const -1) "")))
             (call $emit (call $st (call $json.len (i32.const 999) "")))
             (call $emit (call $json.set_str (i32.const 999) "k" "v"))
             (call $emit (call $json.push_null (i32.const 0)))
             (call $emit (call $st (call $json.stringify (i32.const 999))))
             (call $emit (call $json.free (i32.const 999)))
             (call $emit (call $json.set (local.get $doc) "k" (i32.const 999)))
             (local.set $gone (call $ok (call $json.object)))
             (call $must (call $json.free (local.get $gone)))
             (call $emit (call $json.free (local.get $gone)))
             (call $emit (call $st (call $json.type (local.get $gone) "")))
             ;; Paths.
             (call $emit (call $st (call $json.str (local.get $doc) "/missing")))
             (call $emit (call $st (call $json.str (local.get $doc) "s")))
             (call $emit (call $st (call $json.str (local.get $doc) "/s~2")))
             (call $emit (call $st64 (call $json.i64 (local.get $doc) "/a/01")))
             (call $emit (call $st (call $json.item (local.get $doc) "/a" (i32.const 1))))
             (call $emit (call $st (call $json.item (local.get $doc) "/a" (i32.const -1))))
             (call $emit (call $st (call $json.member (local.get $doc) "/o" "x")))
             ;; Types.
             (call $emit (call $st (call $json.str (local.get $doc) "/n")))
             (call $emit (call $st64 (call $json.i64 (local.get $doc) "/n")))
             (call $emit (call $st (call $json.bool (local.get $doc) "/s")))
             (call $emit (call $stf (call $json.f64 (local.get $doc) "/s")))
             (call $emit (call $st (call $json.len (local.get $doc) "/s")))
             (call $emit (call $st (call $json.item (local.get $doc) "/o" (i32.const 0))))
             (call $emit (call $st (call $json.member (local.get $doc) "/a" "0")))
             (call $emit (call $st (call $json.keys (local.get $doc) "/a")))
             (call $emit (call $json.set_str (local.get $arr) "k" "v"))
             (call $emit (call $json.push_null (local.get $doc)))
             (call $emit (call $json.set_f64 (local.get $doc) "k" (f64.const nan)))
             (call $emit (call $json.push_f64 (local.get $arr) (f64.const -inf)))
             (call $emit (call $json.set_str (local.get $doc) "\ff" "v"))
             (call $emit (call $json.push_str (local.get $arr) "\ff"))
             ;; Text that is not JSON.
             (call $emit (call $st (call $json.parse "{")))
             (call $emit (call $st (call $json.parse "1 2")))
             (call $emit (call $st (call $json.parse "")))
             (call $emit (call $st (call $json.parse "\ff")))
             (i32.const 0))"#,
        &json(),
    );
    let outcome = program.run(&Args::new()).unwrap();
    let (invalid, missing) = (status::INVALID_ARGUMENT, status::NOT_FOUND);
    let mut expected = vec![invalid; 10];
    expected.extend([
        missing, invalid, invalid, missing, missing, missing, missing,
    ]);
    expected.extend([invalid; 14]);
    expected.extend([invalid; 4]);
    assert_eq!(emitted(&outcome), expected);
}

#[test]
fn the_handle_cap_counts_live_handles_and_freed_handles_stay_invalid() {
    let program = guest(
        r#"(func $run (result i32)
             (local $a i32) (local $b i32) (local $c i32)
             (local.set $a (call $ok (call $json.parse "[1]")))
             (local.set $b (call $ok (call $json.object)))
             (local.set $c (call $ok (call $json.get (local.get $a) "/0")))
             (call $emit (call $st (call $json.array)))
             (call $emit (call $st (call $json.parse "2")))
             (call $emit (call $st (call $json.item (local.get $a) "" (i32.const 0))))
             (call $must (call $json.free (local.get $b)))
             (call $emit (call $ok (call $json.array)))
             (call $emit (call $st (call $json.type (local.get $b) "")))
             ;; Freeing a document leaves its views dangling.
             (call $must (call $json.free (local.get $a)))
             (call $emit (call $st64 (call $json.i64 (local.get $c) "")))
             (i32.const 0))"#,
        &tape_caps::grants().grant(Json::new().max_handles(3)),
    );
    for _ in 0..2 {
        let outcome = program.run(&Args::new()).unwrap();
        let too_large = status::TOO_LARGE;
        assert_eq!(
            emitted(&outcome),
            [
                too_large,
                too_large,
                too_large,
                4,
                status::INVALID_ARGUMENT,
                status::INVALID_ARGUMENT
            ]
        );
    }
}

#[test]
fn document_and_total_byte_caps_are_enforced() {
    let caps = tape_caps::grants().grant(Json::new().max_document_bytes(40).max_total_bytes(100));
    let over = format!("[{}]", "1,".repeat(19) + "1");
    let under = format!("[{}]", "1,".repeat(17) + "1");
    assert_eq!((over.len(), under.len()), (41, 37));
    let program = guest(
        r#"(func $run (result i32)
             (local $doc i32) (local $i i32)
             (call $emit (call $st (call $json.parse (call $arg (i32.const 0)))))
             (call $emit (call $st (call $json.parse (call $arg (i32.const 1)))))
             ;; Push 13-byte strings onto [] until the 40-byte cap refuses.
             (local.set $doc (call $ok (call $json.array)))
             (block $full
               (loop $more
                 (br_if $full (call $json.push_str (local.get $doc) "0123456789"))
                 (local.set $i (i32.add (local.get $i) (i32.const 1)))
                 (br $more)))
             (call $emit (local.get $i))
             (call $emit (call $st (call $json.stringify (local.get $doc))))
             ;; Setting one member again and again replaces it: no growth.
             (local.set $doc (call $ok (call $json.object)))
             (local.set $i (i32.const 0))
             (loop $again
               (call $must (call $json.set_str (local.get $doc) "k" "0123456789"))
               (local.set $i (i32.add (local.get $i) (i32.const 1)))
               (br_if $again (i32.lt_u (local.get $i) (i32.const 50))))
             (call $out (call $ok (call $json.stringify (local.get $doc))))
             (i32.const 0))"#,
        &caps,
    );
    let outcome = program.run(&Args::strings([&over, &under])).unwrap();
    assert_eq!(int(&outcome, 0), status::TOO_LARGE);
    assert_eq!(int(&outcome, 1), 0);
    assert_eq!(
        int(&outcome, 2),
        2,
        "2 + 13 + 13 fits in 40, a third does not"
    );
    assert_eq!(int(&outcome, 3), 0, "what was built can be serialised");
    assert_eq!(string(&outcome, 4), r#"{"k":"0123456789"}"#);

    // 100 bytes held at once: freeing gives them back.
    let program = guest(
        r#"(func $run (result i32)
             (local $doc i32)
             (local.set $doc (call $ok (call $json.parse (call $arg (i32.const 0)))))
             (call $must (call $json.free (local.get $doc)))
             (drop (call $ok (call $json.parse (call $arg (i32.const 0)))))
             (drop (call $ok (call $json.parse (call $arg (i32.const 0)))))
             (call $emit (call $st (call $json.parse (call $arg (i32.const 0)))))
             (call $emit (call $st (call $json.object)))
             (i32.const 0))"#,
        &caps,
    );
    let outcome = program.run(&Args::strings([&under])).unwrap();
    assert_eq!(emitted(&outcome), [status::TOO_LARGE, 0]);
}

#[test]
fn nesting_is_capped_at_127_parsed_or_built() {
    let program = guest(
        r#"(func $run (result i32)
             (local $a i32) (local $b i32) (local $depth i32)
             (call $emit (call $st (call $json.parse (call $arg (i32.const 0)))))
             (call $emit (call $st (call $json.parse (call $arg (i32.const 1)))))
             ;; Wrap an array in arrays until refused.
             (local.set $a (call $ok (call $json.array)))
             (local.set $depth (i32.const 1))
             (block $deep
               (loop $wrap
                 (local.set $b (call $ok (call $json.array)))
                 (br_if $deep (call $json.push (local.get $b) (local.get $a)))
                 (call $must (call $json.free (local.get $a)))
                 (local.set $a (local.get $b))
                 (local.set $depth (i32.add (local.get $depth) (i32.const 1)))
                 (br $wrap)))
             (call $emit (local.get $depth))
             (call $emit (call $st (call $json.parse (call $arg (i32.const 0)))))
             (i32.const 0))"#,
        &json(),
    );
    let nested = |depth: usize| "[".repeat(depth) + &"]".repeat(depth);
    let outcome = program
        .run(&Args::strings([nested(127), nested(128)]))
        .unwrap();
    assert_eq!(emitted(&outcome), [0, status::TOO_LARGE, 127, 0]);

    let program = guest(
        r#"(func $run (result i32)
             (local $doc i32) (local $deepest i32)
             (local.set $doc (call $ok (call $json.parse (call $arg (i32.const 0)))))
             (local.set $deepest (call $ok (call $json.get (local.get $doc) (call $arg (i32.const 1)))))
             (call $emit (call $json.push_i64 (local.get $deepest) (i64.const 1)))
             (call $emit (call $json.push (local.get $deepest) (local.get $doc)))
             (call $emit (call $json.push_null (local.get $deepest)))
             (i32.const 0))"#,
        &json(),
    );
    let path = "/0".repeat(126);
    let outcome = program
        .run(&Args::strings([nested(127).as_str(), &path]))
        .unwrap();
    assert_eq!(emitted(&outcome), [0, status::TOO_LARGE, 0]);
}

#[test]
fn a_document_that_copies_into_itself_stops_at_a_cap() {
    // Each copy replaces member "k": the document nests one deeper each
    // time without growing much, until the depth cap.
    let replacing = guest(
        r#"(func $run (result i32)
             (local $obj i32) (local $i i32) (local $status i32)
             (local.set $obj (call $ok (call $json.object)))
             (call $must (call $json.set_str (local.get $obj) "k" "0123456789abcdef"))
             (block $full
               (loop $copy
                 (local.set $status (call $json.set (local.get $obj) "k" (local.get $obj)))
                 (br_if $full (local.get $status))
                 (local.set $i (i32.add (local.get $i) (i32.const 1)))
                 (br $copy)))
             (call $emit (local.get $i))
             (call $emit (local.get $status))
             (i32.const 0))"#,
        &json(),
    );
    let outcome = replacing.run(&Args::new()).unwrap();
    assert_eq!(emitted(&outcome), [126, status::TOO_LARGE]);

    // Copies into two members double the document each time, until the
    // size cap: long before host memory would notice.
    let doubling = guest(
        r#"(func $run (result i32)
             (local $obj i32) (local $i i32) (local $status i32)
             (local.set $obj (call $ok (call $json.object)))
             (block $full
               (loop $copy
                 (local.set $status (call $json.set (local.get $obj) "a" (local.get $obj)))
                 (br_if $full (local.get $status))
                 (local.set $status (call $json.set (local.get $obj) "b" (local.get $obj)))
                 (br_if $full (local.get $status))
                 (local.set $i (i32.add (local.get $i) (i32.const 1)))
                 (br $copy)))
             (call $emit (local.get $i))
             (call $emit (local.get $status))
             (i32.const 0))"#,
        &json(),
    );
    let outcome = doubling.run(&Args::new()).unwrap();
    let values = emitted(&outcome);
    assert_eq!(values[1], status::TOO_LARGE);
    assert!((5..20).contains(&values[0]), "{values:?}");
}

/// `json.has` answers 1 or 0 with status OK, records no reason for an
/// absent value, and fails only for a bad pointer or a dead handle.
#[test]
fn has_answers_whether_a_value_is_there() {
    let program = guest(
        r#"(func $run (result i32)
             (local $doc i32) (local $user i32)
             (local.set $doc (call $ok (call $json.parse (call $arg (i32.const 0)))))
             (call $emit (call $ok (call $json.has (local.get $doc) "/user/name")))
             (call $emit (call $ok (call $json.has (local.get $doc) "/user/age")))
             (call $emit (call $ok (call $json.has (local.get $doc) "/user/nick")))
             (call $emit (call $ok (call $json.has (local.get $doc) "/tags/1")))
             (call $emit (call $ok (call $json.has (local.get $doc) "/tags/2")))
             (call $emit (call $ok (call $json.has (local.get $doc) "/tags/x")))
             (call $emit (call $ok (call $json.has (local.get $doc) "/user/name/deeper")))
             (call $emit (call $ok (call $json.has (local.get $doc) "")))
             (local.set $user (call $ok (call $json.get (local.get $doc) "/user")))
             (call $emit (call $ok (call $json.has (local.get $user) "/name")))
             (call $emit (call $ok (call $json.has (local.get $user) "/tags")))
             ;; Failures: a path that is not a JSON Pointer, a freed handle.
             (call $emit (call $st (call $json.has (local.get $doc) "user")))
             (call $must (call $json.free (local.get $user)))
             (call $emit (call $st (call $json.has (local.get $user) "/name")))
             (i32.const 0))"#,
        &json(),
    );
    let doc = r#"{"user": {"name": "Ada", "nick": null}, "tags": ["x", "y"]}"#;
    let outcome = program.run(&Args::strings([doc])).unwrap();
    assert_eq!(outcome.status, 0, "{outcome:?}");
    let got: Vec<i32> = (0..12).map(|i| int(&outcome, i)).collect();
    assert_eq!(
        got,
        [
            1,
            0,
            1,
            1,
            0,
            0,
            0,
            1,
            1,
            0,
            status::INVALID_ARGUMENT,
            status::INVALID_ARGUMENT
        ]
    );
    // Only the two failures left reasons.
    let calls: Vec<&str> = outcome.reasons.iter().map(|r| r.call).collect();
    assert_eq!(calls, ["json.has", "json.has"], "{:?}", outcome.reasons);
}

/// A number is written back as it was read: its digits, and its exponent
/// as spelt (`1e3`, `1E+2`), never turned into a float's text.
#[test]
fn numbers_are_written_back_as_they_were_read() {
    let program = guest(
        r#"(func $run (result i32)
             (local $doc i32)
             (local.set $doc (call $ok (call $json.parse (call $arg (i32.const 0)))))
             (call $out (call $ok (call $json.stringify (local.get $doc))))
             (call $out (call $ok (call $json.stringify
               (call $ok (call $json.get (local.get $doc) "/g")))))
             (call $emit64 (call $ok64 (call $json.i64 (local.get $doc) "/a")))
             (call $emitf (call $okf (call $json.f64 (local.get $doc) "/b")))
             (call $must (call $json.set_i64 (local.get $doc) "a" (i64.const 7)))
             (call $out (call $ok (call $json.stringify (local.get $doc))))
             (i32.const 0))"#,
        &json(),
    );
    let text = r#"{"a": 1e3, "b": 1E+2, "c": 2.5e-3, "d": 1.50, "e": -0, "f": 12345678901234567890123,
        "s": "1e3 in a string, \" and 2E5", "g": [1E5, {"h": 0.1e1}, -1.0E-0]}"#;
    let outcome = program.run(&Args::strings([text])).unwrap();
    assert_eq!(outcome.status, 0, "{:?}", outcome.reasons);
    let compact = r#"{"a":1e3,"b":1E+2,"c":2.5e-3,"d":1.50,"e":-0,"f":12345678901234567890123,"s":"1e3 in a string, \" and 2E5","g":[1E5,{"h":0.1e1},-1.0E-0]}"#;
    assert_eq!(string(&outcome, 0), compact);
    assert_eq!(string(&outcome, 1), r#"[1E5,{"h":0.1e1},-1.0E-0]"#);
    assert_eq!(int64(&outcome, 2), 1000);
    assert_eq!(float(&outcome, 3), 100.0);
    assert_eq!(string(&outcome, 4), compact.replace("\"a\":1e3", "\"a\":7"));

    // A duplicate key puts numbers out of the text's order: the rest keep
    // serde_json's spelling, the same number.
    let outcome = program
        .run(&Args::strings([
            r#"{"a": 1e3, "a": 2E3, "b": 3e3, "g": []}"#,
        ]))
        .unwrap();
    assert_eq!(string(&outcome, 0), r#"{"a":2e+3,"b":3e+3,"g":[]}"#);
}

/// A parse error says where, as a line and column of the document, with
/// the text just before it.
#[test]
fn a_parse_error_names_its_line_and_column() {
    let program = guest(
        r#"(func $run (result i32)
             (call $st (call $json.parse (call $arg (i32.const 0)))))"#,
        &json(),
    );
    let reason = |text: &str| {
        let outcome = program.run(&Args::strings([text])).unwrap();
        assert_eq!(outcome.status, status::INVALID_ARGUMENT);
        outcome.reasons.last().unwrap().to_string()
    };
    let long = format!("{{\"a\": 1,\n  \"items\": [{}2,, 3]}}", "1, ".repeat(30));
    let got = reason(&long);
    assert!(
        got.contains("not JSON: expected value at line 2, column 105 of the document: `,` after `…, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2,`"),
        "{got}"
    );
    let got = reason("{\"a\": [1, 2");
    assert!(
        got.contains("not JSON: EOF while parsing a list at line 1, column 11 of the document, after `{\"a\": [1, 2`"),
        "{got}"
    );
    let got = reason("");
    assert!(
        got.contains("not JSON: EOF while parsing a value at line 1, column 0 of the document"),
        "{got}"
    );
    let got = reason("[1]\n\n  x");
    assert!(
        got.contains("not JSON: trailing characters at line 3, column 3 of the document, at `x`"),
        "{got}"
    );
}
