#pragma once
// All differentiable ops.
#include "attend/autograd/node.h"
#include "attend/ops/conv.h"
#include "attend/ops/elementwise.h"
#include "attend/ops/linalg.h"
#include "attend/ops/loss.h"
#include "attend/ops/lstm.h"
#include "attend/ops/nn_functional.h"
#include "attend/ops/reduce.h"
#include "attend/ops/shape.h"
