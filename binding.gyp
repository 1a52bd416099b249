{
  "targets": [
    {
      "target_name": "ndis_tap",
      "conditions": [
        ["OS=='linux'", {
          "sources": ["native/tap.c"],
          "cflags": ["-std=gnu11", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
          "defines": ["NAPI_VERSION=8"]
        }],
        ["OS!='linux'", {
          "type": "none"
        }]
      ]
    }
  ]
}
