// bazel run //tasks:diffusion -- --optimizer=adamw --smoothing=window
#include "tasks/diffusion.h"

int main(int argc, char** argv) { return gs::tasks::TaskMain(gs::tasks::NewDiffusion(), argc, argv); }
