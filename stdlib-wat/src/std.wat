;; Tape's standard library. Every function is named `$std.…` and is linked
;; into a program only when called. Functions are added with their tests.
