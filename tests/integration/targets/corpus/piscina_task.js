// The pool's job: a CPU-bound function, named so the profile can show it.
'use strict';
function fibonacciInWorker(n) {
  return n < 2 ? n : fibonacciInWorker(n - 1) + fibonacciInWorker(n - 2);
}
module.exports = (n) => fibonacciInWorker(n + 5);
