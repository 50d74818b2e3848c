package news.pipeline.analysis;

import org.apache.lucene.analysis.Analyzer;
import org.apache.lucene.analysis.es.SpanishAnalyzer;
import org.elasticsearch.plugin.NamedComponent;
import org.elasticsearch.plugin.analysis.AnalyzerFactory;

/**
 * Registers the stock Elasticsearch analyzer name "spanish" for the local test node.
 *
 * <p>The integ-test distribution ships without the analysis-common module, so "spanish" is
 * missing. Production Elasticsearch backs "spanish" with Lucene's {@link SpanishAnalyzer}
 * built with its default stop words and no stem exclusions; this factory does exactly that,
 * so local analysis matches production.
 */
@NamedComponent("spanish")
public final class SpanishAnalyzerFactory implements AnalyzerFactory {

    /** Public no-arg constructor: stable plugin components are instantiated reflectively. */
    public SpanishAnalyzerFactory() {}

    @Override
    public Analyzer create() {
        return new SpanishAnalyzer();
    }
}
