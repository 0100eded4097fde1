// LayerNorm with per-unit weights for masked structural growth (MSG): a unit with weight 0 takes no
// part in the mean and variance, so a model whose new hidden units are masked normalises exactly as
// it did before growth. Leaf module (tf + model ops only) so model.ts can import it without a cycle.
import * as tf from '@tensorflow/tfjs'
import { colSum, rawMatmul } from '../model/ops'

/**
 * LayerNorm over the last axis of x [N, d] whose statistics weight unit j by w[j] (w >= 0, sum 1):
 *   mu = x.w,  var = ((x - mu)^2).w,  y = gamma * (x - mu) / sqrt(var + eps) + beta.
 * With w = 1/d this is the plain layerNorm. Hand-written gradient (derivation in docs/elle.md):
 *   g = dy * gamma,  dx = rstd * (g - w * (xhat * sum(g * xhat) + sum(g)))
 * Only last-axis reductions and [N, d] @ [d, 1] matmuls, which are fast on wasm; w gets no gradient.
 */
export function maskedLayerNorm(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, w: tf.Tensor, eps = 1e-5): tf.Tensor {
  const d = x.shape[x.rank - 1] as number
  const f = (xx: tf.Tensor, g: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc): { value: tf.Tensor; gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor[] } => {
    const wc = w.reshape([d, 1])
    const x2 = xx.reshape([-1, d])
    const xc = tf.sub(x2, rawMatmul(x2, wc))
    const rstd = tf.rsqrt(tf.add(rawMatmul(tf.square(xc), wc), eps))
    const xhat = tf.mul(xc, rstd)
    save([xhat, rstd, g, w])
    return {
      value: tf.add(tf.mul(xhat, g), b).reshape(xx.shape),
      gradFunc: (dy, saved) => {
        const [xh, rs, gs, ws] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor]
        const grads = tf.tidy(() => {
          const dy2 = dy.reshape([-1, d])
          const gh = tf.mul(dy2, gs)
          const a = tf.sum(tf.mul(gh, xh), -1, true)
          const s = tf.sum(gh, -1, true)
          const dx = tf.mul(rs, tf.sub(gh, tf.mul(ws, tf.add(tf.mul(xh, a), s))))
          return [dx.reshape(dy.shape), colSum(tf.mul(dy2, xh)), colSum(dy2)]
        })
        // As ops.ts' customOp: this gradient is consumed here only; free it now, not at the end of backprop.
        dy.dispose()
        return grads
      }
    }
  }
  return tf.customGrad(f as unknown as Parameters<typeof tf.customGrad>[0])(x, gamma, beta)
}
