;; GETs the URL in argument 0 and returns the body of a 2xx response.
(func $run (result i32)
  (local $url i32) (local $body i32) (local $status i32)
  (argv 0 $url)
  (call $http.get_body (local.get $url))
  (local.set $status) (local.set $body)
  (check (local.get $status))
  (resv $body)
  (i32.const 0))
