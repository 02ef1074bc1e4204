//! Property tests: PCL pages survive encode → decode unchanged; the PCL decoder and the PJL reply
//! parser accept arbitrary bytes without panicking; replies split anywhere parse the same.

use proptest::prelude::*;
use pstation_pjl::pcl::{Bitmap, PclDecoder, encode_page};
use pstation_pjl::pjl::{Message, ReplyParser};

fn raster() -> impl Strategy<Value = Bitmap> {
    (1u32..200, 1u32..40).prop_flat_map(|(w, h)| {
        let stride = w.div_ceil(8) as usize;
        // Mostly blank or repetitive rows, like a real page, plus random ones.
        let row = prop_oneof![
            3 => Just(vec![0u8; stride]),
            2 => prop::collection::vec(prop_oneof![Just(0u8), Just(0xFF), any::<u8>()], stride),
            1 => any::<u8>().prop_map(move |b| vec![b; stride]),
        ];
        prop::collection::vec(row, h as usize).prop_map(move |rows| {
            let mut bits: Vec<u8> = rows.concat();
            // Bits beyond the width are padding: keep them zero, as a renderer does.
            let pad = (stride * 8) as u32 - w;
            if pad > 0 {
                let mask = !((1u16 << pad) - 1) as u8;
                for y in 0..h as usize {
                    bits[y * stride + stride - 1] &= mask;
                }
            }
            Bitmap {
                width: w,
                height: h,
                stride,
                bits,
            }
        })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn pages_round_trip_through_pcl(page in raster()) {
        let mut out = Vec::new();
        encode_page(&page, 300, &mut out);
        let pages = PclDecoder::new().decode(&out).expect("our own stream decodes");
        prop_assert_eq!(pages, vec![page]);
    }

    #[test]
    fn the_pcl_decoder_survives_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        let _ = PclDecoder::new().decode(&bytes);
    }

    #[test]
    fn the_pcl_decoder_survives_mutated_streams(page in raster(), at in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let mut out = Vec::new();
        encode_page(&page, 300, &mut out);
        let i = at.index(out.len());
        out[i] = byte;
        let _ = PclDecoder::new().decode(&out);
    }

    #[test]
    fn the_reply_parser_survives_arbitrary_bytes(chunks in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..80), 0..20)) {
        let mut p = ReplyParser::new();
        for c in &chunks {
            let _ = p.feed(c);
        }
        // And it still parses a good frame afterwards.
        let msgs = p.feed(b"\x0c@PJL ECHO OK\r\n\x0c");
        prop_assert!(msgs.contains(&Message::Echo("OK".into())), "{:?}", msgs);
    }
}
