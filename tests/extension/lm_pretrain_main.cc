// //tasks:lm_pretrain's main, linked here with the causal transform beside the suite's own.
#include "tasks/lm_pretrain.h"

int main(int argc, char** argv) { return gs::tasks::TaskMain(gs::tasks::NewLmPretrain(), argc, argv); }
