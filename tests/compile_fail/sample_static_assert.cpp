// expect: loom: sample
// Placeholder snippet showing the format: first line is the regex the compiler
// output must match; the snippet itself must fail to compile.
template <class T>
struct must_not_instantiate {
  static_assert(sizeof(T) == 0, "loom: sample message");
};

must_not_instantiate<int> boom;
