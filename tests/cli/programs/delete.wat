;; DELETEs the URL in argument 0 with `http.request`, then hands over the
;; HTTP status and the body: a 404 is the server's answer, not a failure.
(func $run (result i32)
  (local $url i32) (local $reply i32) (local $status i32)
  (argv 0 $url)
  (call $http.request "DELETE" (local.get $url) "Authorization: Bearer t" "" (i32.const 5000))
  (local.set $status) (local.set $reply)
  (check (local.get $status))
  (resv (call $std.i32.to_str (i32.load offset=4 (local.get $reply))))
  (resv (i32.add (i32.add (local.get $reply) (i32.const 12))
                 (i32.load offset=8 (local.get $reply))))
  (i32.const 0))
