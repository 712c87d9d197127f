#include "cli/simnet.h"
