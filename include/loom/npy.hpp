#pragma once

// loom::save_npy: a host tensor or view as a NumPy .npy file. Opt-in; needs nothing beyond loom.

#include "loom/interop/npy.hpp"
