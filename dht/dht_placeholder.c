/* The DHT layer (issue 5) is not written yet. */
