//! Read access to ONNX protobuf attributes and initializers (the `pb` types tract generates).

pub(crate) use tract_onnx::pb::{AttributeProto, GraphProto, NodeProto, TensorProto};

pub(crate) fn attr<'a>(node: &'a NodeProto, name: &str) -> Option<&'a AttributeProto> {
    node.attribute.iter().find(|a| a.name == name)
}

pub(crate) fn attr_ints(node: &NodeProto, name: &str) -> Vec<i64> {
    attr(node, name).map(|a| a.ints.clone()).unwrap_or_default()
}

pub(crate) fn attr_floats(node: &NodeProto, name: &str) -> Vec<f32> {
    attr(node, name).map(|a| a.floats.clone()).unwrap_or_default()
}

pub(crate) fn attr_strings(node: &NodeProto, name: &str) -> Vec<String> {
    attr(node, name)
        .map(|a| a.strings.iter().map(|s| String::from_utf8_lossy(s).into_owned()).collect())
        .unwrap_or_default()
}

pub(crate) fn attr_string(node: &NodeProto, name: &str) -> Option<String> {
    attr(node, name).map(|a| String::from_utf8_lossy(&a.s).into_owned())
}

pub(crate) fn attr_int(node: &NodeProto, name: &str) -> Option<i64> {
    attr(node, name).map(|a| a.i)
}

/// The values of a float or double initializer (or `Constant` node) named `name`, as f64.
pub(crate) fn constant_values(graph: &GraphProto, name: &str) -> Option<Vec<f64>> {
    if let Some(t) = graph.initializer.iter().find(|t| t.name == name) {
        return tensor_values(t);
    }
    let node = graph.node.iter().find(|n| n.op_type == "Constant" && n.output.first().is_some_and(|o| o == name))?;
    tensor_values(attr(node, "value")?.t.as_ref()?)
}

fn tensor_values(t: &TensorProto) -> Option<Vec<f64>> {
    const FLOAT: i32 = 1;
    const DOUBLE: i32 = 11;
    match t.data_type {
        FLOAT if !t.float_data.is_empty() => Some(t.float_data.iter().map(|&v| f64::from(v)).collect()),
        FLOAT => {
            Some(t.raw_data.chunks_exact(4).map(|c| f64::from(f32::from_le_bytes([c[0], c[1], c[2], c[3]]))).collect())
        }
        DOUBLE if !t.double_data.is_empty() => Some(t.double_data.clone()),
        DOUBLE => {
            Some(t.raw_data.chunks_exact(8).map(|c| f64::from_le_bytes(c.try_into().expect("chunks of 8"))).collect())
        }
        _ => None,
    }
}
