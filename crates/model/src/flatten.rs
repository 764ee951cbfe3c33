//! Flattening a module's parameter gradients into one vector, in a fixed parameter
//! order, for the gradient-variance statistics, and back: a gradient built on the host (the
//! optimal baseline's Σ_i w_i ∇s_i from per-sequence gradients) becomes one an optimiser takes.

use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::tensor::{Tensor, TensorData};

use crate::error::{ModelError, Result};

/// All gradients of `module`'s trainable float parameters, concatenated into one vector.
///
/// The order is the module's declared parameter order (the order [`Module::visit`] walks it),
/// each tensor flattened row-major, so two calls on the same module line up coordinate by
/// coordinate. A parameter that requires grad but received none (it did not take part in the
/// loss) contributes zeros — its gradient is zero — so the length is always the number of
/// trainable elements; parameters that do not require grad (frozen) are left out.
///
/// # Errors
/// [`ModelError::GradientRead`] if a gradient cannot be read back from the device.
pub fn flatten_gradients<M: Module>(module: &M, gradients: &GradientsParams) -> Result<Vec<f32>> {
    let mut visitor = Flattener {
        gradients,
        out: Vec::new(),
        error: None,
    };
    module.visit(&mut visitor);
    match visitor.error {
        Some(error) => Err(error),
        None => Ok(visitor.out),
    }
}

struct Flattener<'a> {
    gradients: &'a GradientsParams,
    out: Vec<f32>,
    error: Option<ModelError>,
}

impl ModuleVisitor for Flattener<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if self.error.is_some() || !param.is_require_grad() {
            return;
        }
        let Some(grad) = self.gradients.get::<D>(param.id) else {
            let zeros = param.val().shape().num_elements();
            self.out.extend(std::iter::repeat_n(0.0, zeros));
            return;
        };
        let read = grad
            .try_into_data()
            .map_err(|e| e.to_string())
            .and_then(|data| data.try_into_vec_as::<f32>().map_err(|e| e.to_string()));
        match read {
            Ok(values) => self.out.extend(values),
            Err(reason) => {
                self.error = Some(ModelError::GradientRead {
                    param: param.id.to_string(),
                    reason,
                });
            }
        }
    }
}

/// The inverse of [`flatten_gradients`]: `flat` cut into `module`'s trainable parameters in
/// the same order, each a gradient on the parameter's device without autodiff.
///
/// # Errors
/// [`ModelError::FlatGradientLength`] unless `flat` has one value per trainable element.
pub fn unflatten_gradients<M: Module>(module: &M, flat: &[f32]) -> Result<GradientsParams> {
    let mut visitor = Unflattener {
        flat,
        used: 0,
        out: GradientsParams::new(),
    };
    module.visit(&mut visitor);
    let used = visitor.used;
    if used != flat.len() {
        return Err(ModelError::FlatGradientLength {
            expected: used,
            found: flat.len(),
        });
    }
    Ok(visitor.out)
}

struct Unflattener<'a> {
    flat: &'a [f32],
    used: usize,
    out: GradientsParams,
}

impl ModuleVisitor for Unflattener<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if !param.is_require_grad() {
            return;
        }
        let value = param.val();
        let shape = value.shape();
        let end = self.used + shape.num_elements();
        // Too short: counted here, refused by the caller (which sees `used` ≠ the length).
        let Some(values) = self.flat.get(self.used..end) else {
            self.used = end;
            return;
        };
        self.used = end;
        let device = value.inner().device();
        let grad = Tensor::<D>::from_data(TensorData::new(values.to_vec(), shape), &device);
        self.out.register(param.id, grad);
    }
}

#[cfg(test)]
mod tests {
    use burn::tensor::Device;

    use super::*;

    #[derive(Module, Debug)]
    struct TwoParams {
        weight: Param<Tensor<2>>,
        bias: Param<Tensor<1>>,
        unused: Param<Tensor<1>>,
    }

    fn param<const D: usize>(
        values: Vec<f32>,
        shape: [usize; D],
        device: &Device,
    ) -> Param<Tensor<D>> {
        Param::from_tensor(Tensor::<D>::from_data(
            TensorData::new(values, shape),
            device,
        ))
    }

    #[test]
    fn gradients_are_concatenated_in_declared_order_with_zeros_for_unused_params() {
        let device = Device::flex().autodiff();
        let module = TwoParams {
            weight: param(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], [2, 3], &device),
            bias: param(vec![0.5, -0.5], [2], &device),
            unused: param(vec![9.0, 9.0, 9.0], [3], &device),
        };
        // L = Σ_ij c_ij W_ij + Σ_j W_0j·b_0 + d·b: ∂L/∂W_ij = c_ij + [i = 0]·b_0,
        // ∂L/∂b_0 = Σ_j W_0j + d_0, ∂L/∂b_1 = d_1.
        let c = Tensor::<2>::from_data(
            TensorData::new(vec![10.0, 20.0, 30.0, 40.0, 50.0, 60.0], [2, 3]),
            &device,
        );
        let d = Tensor::<1>::from_data(TensorData::new(vec![7.0, 8.0], [2]), &device);
        let w = module.weight.val();
        let b = module.bias.val();
        let row0 = w.clone().slice([0..1, 0..3]).sum();
        let b0 = b.clone().narrow(0, 0, 1);
        let loss = (w * c).sum() + row0 * b0 + (b * d).sum();
        let grads = GradientsParams::from_grads(loss.backward(), &module);
        let flat = flatten_gradients(&module, &grads).expect("readable");
        // W row 0: 10.5, 20.5, 30.5; row 1: 40, 50, 60; b: 1+2+3+7 = 13, 8; unused: 0, 0, 0.
        assert_eq!(
            flat,
            vec![10.5, 20.5, 30.5, 40.0, 50.0, 60.0, 13.0, 8.0, 0.0, 0.0, 0.0]
        );
    }
}

#[cfg(test)]
mod unflatten_tests {
    use burn::module::Param;
    use burn::optim::{GradientsParams, SgdConfig};
    use burn::tensor::{Device, Tensor, TensorData};

    use super::*;

    #[derive(Module, Debug)]
    struct Pair {
        weight: Param<Tensor<2>>,
        bias: Param<Tensor<1>>,
    }

    fn pair(device: &Device) -> Pair {
        let p = |v: Vec<f32>, s: Vec<usize>| Param::from_data(TensorData::new(v, s), device);
        Pair {
            weight: Param::from_tensor(Tensor::<2>::from_data(
                TensorData::new(vec![1.0f32, 2.0, 3.0, 4.0], [2, 2]),
                device,
            )),
            bias: p(vec![0.5f32, -0.5], vec![2]),
        }
    }

    #[test]
    fn unflattened_gradients_step_an_optimiser_as_the_backward_passs_do() {
        let device = Device::flex().autodiff();
        let module = pair(&device);
        // L = Σ W² + 3·Σ b: ∂L/∂W = 2W = (2, 4, 6, 8), ∂L/∂b = (3, 3).
        let loss = module.weight.val().powi_scalar(2).sum() + module.bias.val().sum() * 3.0;
        let grads = GradientsParams::from_grads(loss.backward(), &module);
        let flat = flatten_gradients(&module, &grads).expect("readable");
        assert_eq!(flat, vec![2.0, 4.0, 6.0, 8.0, 3.0, 3.0]);
        let rebuilt = unflatten_gradients(&module, &flat).expect("right length");
        assert_eq!(
            flatten_gradients(&module, &rebuilt).expect("readable"),
            flat
        );
        // SGD at lr 0.5: W − W = 0, b − 1.5 = (−1, −2).
        let mut sgd = SgdConfig::new().init();
        let stepped = sgd.step(0.5, module, rebuilt);
        let w = stepped
            .weight
            .val()
            .into_data()
            .try_to_vec::<f32>()
            .expect("f32");
        let b = stepped
            .bias
            .val()
            .into_data()
            .try_to_vec::<f32>()
            .expect("f32");
        assert_eq!(w, vec![0.0, 0.0, 0.0, 0.0]);
        assert_eq!(b, vec![-1.0, -2.0]);
    }

    #[test]
    fn a_flat_gradient_of_the_wrong_length_is_refused() {
        let module = pair(&Device::flex().autodiff());
        for n in [5, 7] {
            let err = unflatten_gradients(&module, &vec![0.0; n]).expect_err("wrong length");
            assert!(err.to_string().contains(&format!("{n}")), "{err}");
            assert!(err.to_string().contains('6'), "{err}");
        }
    }
}
