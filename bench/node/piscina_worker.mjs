// Piscina's worker: the same trivial task as troupe's.
export default function square(x) {
  return x * x;
}
