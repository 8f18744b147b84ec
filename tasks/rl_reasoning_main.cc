// bazel run //tasks:rl_reasoning -- --optimizer=adamw --smoothing=window
#include "tasks/rl_reasoning.h"

int main(int argc, char** argv) { return gs::tasks::TaskMain(gs::tasks::NewRlReasoning(), argc, argv); }
