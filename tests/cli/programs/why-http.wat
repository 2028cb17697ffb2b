;; Asks for a URL the grant does not allow: status 2, with the rule.
(func $run (result i32)
  (local $reply i32) (local $status i32)
  (call $http.get_body "http://169.254.169.254/latest/meta-data/") (local.set $status) (local.set $reply)
  (check (local.get $status))
  (resv (local.get $reply))
  (i32.const 0))
