// bazel run //tasks:lm_pretrain -- --optimizer=adamw --smoothing=window
#include "tasks/lm_pretrain.h"

int main(int argc, char** argv) { return gs::tasks::TaskMain(gs::tasks::NewLmPretrain(), argc, argv); }
