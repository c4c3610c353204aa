// Element-wise kernels of the CUDA backend (compiled at run time by NVRTC). Each mirrors one
// method of src/backend/host.rs; the comments there and in src/backend/mod.rs say what each
// computes. States are N x B column-major (element (i, b) at i + b*N). Loops are grid-stride.

#define FOR(t, total) for (long t = blockIdx.x * (long)blockDim.x + threadIdx.x; t < (total); t += (long)gridDim.x * blockDim.x)

__device__ __forceinline__ int batch_row(const float* counter, int stride) {
    return (int)counter[0] * stride;
}

__device__ __forceinline__ unsigned warp_max(unsigned x) {
    for (int o = 16; o > 0; o >>= 1) x = max(x, __shfl_down_sync(0xffffffffu, x, o));
    return x;
}

__device__ __forceinline__ float warp_sum(float x) {
    for (int o = 16; o > 0; o >>= 1) x += __shfl_down_sync(0xffffffffu, x, o);
    return x;
}

extern "C" __global__ void fill(float* x, long off, long n, float value) {
    FOR(t, n) x[off + t] = value;
}

extern "C" __global__ void load(const float* images, const float* labels, const float* order,
                                const float* counter, float* u, float* v, float* target,
                                float* batch_labels, int rows, int n0, int batch, int order_len,
                                int n_out, float on, float off) {
    int k = (int)counter[0];
    FOR(t, (long)rows * batch) {
        int b = (int)(t / rows), i = (int)(t % rows);
        long p = (long)k * batch + b;
        bool valid = p < order_len;
        long e = valid ? (long)order[p] : 0;
        u[t] = (valid && i < n0) ? images[e * n0 + i] : 0.0f;
        v[t] = 0.0f;
        float label = valid ? labels[e] : -1.0f;
        if (i < n_out) target[i + (long)b * n_out] = ((float)i == label) ? on : off;
        if (i == 0) batch_labels[b] = label;
    }
}

// flags: 1 Jacobi, 2 dynamic inhibitor, 4 coupled inhibitor, 8 residual only.
extern "C" __global__ void relax(float* u, float* v, const float* cur, const float* curv,
                                 const float* drive, const float* diag, const float* bias,
                                 const float* target, const float* counter, float* stats,
                                 int rows, int first, int out_first, int n1, int batch, float du,
                                 float leak, float alpha_v, float beta_v, float cv, float ku,
                                 float kv, float nudge, int flags, int stride, int slot) {
    int free_rows = rows - first, n_out = rows - out_first;
    unsigned r = 0;
    FOR(t, (long)free_rows * batch) {
        int b = (int)(t / free_rows), i = first + (int)(t % free_rows);
        long e = i + (long)b * rows;
        float uk = u[e], vk = v[e], d = diag[i];
        float g = cur[e];
        if (i < first + n1) g += drive[(i - first) + (long)b * n1];
        g += du * (d + leak) * uk - (uk - uk * uk * uk - vk) - bias[i];
        bool out = i >= out_first;
        if (out && nudge != 0.0f) g += nudge * (uk - target[(i - out_first) + (long)b * n_out]);
        float gv = 0.0f;
        if (flags & 2) {
            float local = uk - alpha_v * vk - beta_v;
            gv = (flags & 4) ? curv[e] + (local - cv * d * vk) : local;
        }
        if (flags & 8) {
            r = max(r, __float_as_uint(fabsf(g)));
            r = max(r, __float_as_uint(fabsf(gv)));
            continue;
        }
        if (flags & 1) {
            float extra = out ? fmaxf(nudge, 0.0f) : 0.0f;
            float h = fmaxf(du * (d + leak) - 1.0f + extra + 3.0f * uk * uk, 0.0f);
            u[e] = uk - ku * g / (1.0f + ku * h);
        } else {
            u[e] = uk + -ku * g;
        }
        if (flags & 2) v[e] = vk + kv * gv;
    }
    if (flags & 8) {
        r = warp_max(r);
        if ((threadIdx.x & 31) == 0 && r != 0)
            atomicMax((unsigned*)(stats + batch_row(counter, stride) + slot), r);
    }
}

extern "C" __global__ void score(const float* u, const float* target, const float* labels,
                                 const float* counter, float* stats, int rows, int out_first,
                                 int batch, float cost_scale, int stride) {
    int n_out = rows - out_first;
    int row = batch_row(counter, stride);
    FOR(b, batch) {
        float label = labels[b];
        if (label < 0.0f) continue;
        const float* out = u + out_first + b * (long)rows;
        int guess = 0;
        for (int c = 1; c < n_out; c++)
            if (out[c] >= out[guess]) guess = c;
        float cost = 0.0f;
        for (int c = 0; c < n_out; c++) {
            float d = out[c] - target[c + b * (long)n_out];
            cost += cost_scale * d * d;
        }
        atomicAdd(stats + row, (float)guess != label ? 1.0f : 0.0f);
        atomicAdd(stats + row + 1, cost);
    }
}

extern "C" __global__ void diff_sum(const float* a, const float* b, float* delta, float* sum,
                                    long n) {
    FOR(t, n) {
        delta[t] = a[t] - b[t];
        sum[t] = a[t] + b[t];
    }
}

extern "C" __global__ void row_dot(const float* x, const float* y, long off, int rows, int cols,
                                   int ld, float* out, long out_off) {
    FOR(i, rows) {
        float s = 0.0f;
        for (int j = 0; j < cols; j++) s += x[off + i + (long)j * ld] * y[off + i + (long)j * ld];
        out[out_off + i] = s;
    }
}

extern "C" __global__ void row_sum(const float* x, long off, int rows, int cols, int ld, float c,
                                   float* out, long out_off) {
    FOR(i, rows) {
        float s = 0.0f;
        for (int j = 0; j < cols; j++) s += c * x[off + i + (long)j * ld];
        out[out_off + i] += s;
    }
}

extern "C" __global__ void add_outer(float* g, long off, int rows, int cols, int ld,
                                     const float* s, long ja, long kb, float c) {
    FOR(t, (long)rows * cols) {
        int k = (int)(t % rows), j = (int)(t / rows);
        g[off + k + (long)j * ld] += c * (s[ja + j] + s[kb + k]);
    }
}

extern "C" __global__ void heavy_ball(float* w, const float* g, float* m, long off, long n,
                                      float mu, float lr, float wd, float* norms,
                                      int with_norms) {
    float m2 = 0.0f, w2 = 0.0f;
    FOR(t, n) {
        long i = off + t;
        // L2 weight decay as the CPU trainer (train/optim.rs): g + wd w, g itself at wd = 0.
        float gi = wd != 0.0f ? g[i] + wd * w[i] : g[i];
        float step = mu * m[i] - lr * gi;
        m[i] = step;
        float wi = w[i] + step;
        w[i] = wi;
        m2 += step * step;
        w2 += wi * wi;
    }
    if (with_norms) {
        m2 = warp_sum(m2);
        w2 = warp_sum(w2);
        if ((threadIdx.x & 31) == 0) {
            atomicAdd(norms, m2);
            atomicAdd(norms + 1, w2);
        }
    }
}

extern "C" __global__ void ratio(float* norms, const float* counter, float* stats, int stride,
                                 int slot) {
    if (blockIdx.x == 0 && threadIdx.x == 0) {
        float r = sqrtf(norms[0] / fmaxf(norms[1], 1e-30f));
        if (!isfinite(norms[1])) r = __int_as_float(0x7fc00000);
        stats[batch_row(counter, stride) + slot] = r;
        norms[0] = 0.0f;
        norms[1] = 0.0f;
    }
}

extern "C" __global__ void advance(float* counter) {
    if (blockIdx.x == 0 && threadIdx.x == 0) counter[0] += 1.0f;
}
