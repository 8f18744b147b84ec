// bazel run //tasks:vit_classification -- --optimizer=adamw --smoothing=window
#include "tasks/vit_classification.h"

int main(int argc, char** argv) { return gs::tasks::TaskMain(gs::tasks::NewVitClassification(), argc, argv); }
