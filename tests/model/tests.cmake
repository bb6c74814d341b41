wod_test(model_wod_order_test SOURCES model/wod_order_test.cc LIBS wod_model)
wod_fuzz_target(wod_order_fuzz SOURCE model/wod_order_fuzz.cc CORPUS corpus/wod_order
  LIBS wod_model)
