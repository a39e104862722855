{
  "targets": [
    {
      "target_name": "original_dst",
      "sources": ["original-dst.c"],
      "cflags": ["-O2", "-Wall", "-Wextra", "-Werror"]
    }
  ]
}
